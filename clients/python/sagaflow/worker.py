"""A Sagaflow worker on RabbitMQ: handlers per command type, the inbox for idempotency, and the
acknowledgement rule of docs/protocol.md (section numbers below refer to it).

Deliveries are taken in groups: every command the broker has handed over (up to `batch_size`)
is applied in one transaction of the inbox's database, each in its own savepoint; then all the
replies are published and each command is acknowledged when its reply is confirmed. There is
never one confirm wait per reply: the broker confirms the group's replies together."""

import json
import logging
import random
import threading
from dataclasses import dataclass

import pika
import pika.spec

from . import envelope
from .envelope import Reply, Undecodable

log = logging.getLogger("sagaflow.worker")


class BusinessFailure(Exception):
    """A business rule refused the command (section 5): never retried; nothing may change."""

    def __init__(self, code, details=None):
        super().__init__(code)
        self.code = code
        self.details = details or {}


class TechnicalError(Exception):
    """Something broke (section 5): retried by the step's policy; nothing may change."""

    def __init__(self, code, details=None):
        super().__init__(code)
        self.code = code
        self.details = details or {}


@dataclass
class Context:
    """What a handler gets beside the payload: the inbox's open transaction and the command."""

    db: object  # the inbox's DB-API connection, inside the group's transaction: never commit it
    command: envelope.Command


@dataclass
class _Unconfirmed:
    kind: str  # "reply", "dead" or "return" (a classic queue's redelivery, counted)
    tag: int  # the delivery tag of the command it settles
    properties: object
    body: bytes
    returned: str = ""  # the broker's reply_text when it returned the reply (NO_ROUTE)


def backoff_delays(minimum, maximum, rng=random.random):
    """Jittered exponential backoff: each delay is drawn in [d/2, d], d doubling up to maximum."""
    delay = minimum
    while True:
        yield delay / 2 + rng() * delay / 2
        delay = min(delay * 2, maximum)


class Worker:
    """Serves one service's command queue. Register handlers, then run() (blocks until stop()).

        worker = Worker(url, "points", inbox=SqliteInbox("points.db", scope="points"))

        @worker.handler("points.reserve")
        def reserve(ctx, payload):
            ctx.db.execute("UPDATE ...", (...))  # in the inbox's transaction
            return {"reservation_id": "r-1"}      # the reply's body ($reply in the flow)
    """

    def __init__(self, amqp_url, service, inbox, *, prefix="sagaflow", prefetch=128,
                 batch_size=64, max_message_bytes=envelope.MAX_MESSAGE_BYTES,
                 reconnect_min=0.1, reconnect_max=10.0, fault=None, queue_type="quorum"):
        if queue_type not in envelope.QUEUE_TYPES:
            raise ValueError(f"queue_type is quorum or classic, not {queue_type!r}")
        self.url = amqp_url
        self.queue_type = queue_type  # as the whole deployment's (section 2)
        self.service = service
        self.inbox = inbox
        self.prefix = prefix
        self.prefetch = prefetch
        self.batch_size = batch_size
        self.max_message_bytes = max_message_bytes
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.fault = fault  # test hook: fault(point) between the steps of a group
        self.handlers = {}
        self.ready = threading.Event()  # set while consuming
        self._stopping = threading.Event()
        self._connection = None
        self._channel = None
        self._pending = []
        self._flush_scheduled = False
        self._seq = 0
        self._unconfirmed = {}
        self._by_message_id = {}
        self._held = {}

    @property
    def queue(self):
        return f"{self.prefix}.commands.{self.service}"

    def handler(self, command_type):
        """Decorator: `fn(ctx, payload)` serves `command_type` (e.g. "points.reserve")."""

        def register(fn):
            self.handlers[command_type] = fn
            return fn

        return register

    # Running ---------------------------------------------------------------------------------
    def run(self):
        """Connects, serves, and reconnects with jittered backoff until stop()."""
        delays = backoff_delays(self.reconnect_min, self.reconnect_max)
        while not self._stopping.is_set():
            served = self._serve_once()
            if self._stopping.is_set():
                break
            if served:
                delays = backoff_delays(self.reconnect_min, self.reconnect_max)
            wait = next(delays)
            log.warning("broker connection lost; reconnecting in %.2f s", wait)
            self._stopping.wait(wait)

    def stop(self):
        """From any thread or a signal handler: stops consuming and returns from run().
        Commands not yet acknowledged go back to the queue and are answered from the inbox."""
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            try:
                connection.ioloop.add_callback_threadsafe(self._close)
            except Exception:  # pylint: disable=broad-except
                pass  # the loop is gone already

    def _serve_once(self):
        """True when a session got as far as consuming."""
        parameters = pika.URLParameters(self.url)
        parameters.heartbeat = 10
        parameters.connection_attempts = 1
        self.ready.clear()
        self._reset_channel_state()
        consumed = [False]
        self._connection = pika.SelectConnection(
            parameters,
            on_open_callback=lambda c: c.channel(on_open_callback=self._on_channel),
            on_open_error_callback=lambda c, error: self._on_down(c, error),
            on_close_callback=lambda c, reason: self._on_down(c, reason))
        self._consumed = consumed
        if self._stopping.is_set():
            self._close()
        self._connection.ioloop.start()
        self._connection.ioloop.close()
        self.ready.clear()
        self._connection = None
        return consumed[0]

    def _on_down(self, connection, reason):
        if not self._stopping.is_set():
            log.warning("broker connection: %s", reason)
        connection.ioloop.stop()

    def _close(self):
        connection = self._connection
        if connection is None:
            return
        if connection.is_open:
            connection.close()
        elif not connection.is_closing:
            connection.ioloop.stop()

    def _reset_channel_state(self):
        self._pending = []
        self._flush_scheduled = False
        self._seq = 0
        self._unconfirmed = {}
        self._by_message_id = {}
        # Classic queues: message id -> [its returns not yet confirmed, deliveries held back].
        self._held = {}

    def _on_channel(self, channel):
        self._channel = channel
        channel.add_on_close_callback(lambda ch, reason: self._close())
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm,
                                 callback=lambda frame: self._declare())

    def _declare(self):
        """Section 2: what a worker declares, with exactly the orchestrator's arguments."""
        ch, p = self._channel, self.prefix
        work = envelope.work_queue_arguments(p, self.queue_type)
        steps = [
            lambda done: ch.exchange_declare(p + ".commands", "topic", durable=True, callback=done),
            lambda done: ch.exchange_declare(p + ".events", "topic", durable=True, callback=done),
            lambda done: ch.exchange_declare(p + ".dead", "fanout", durable=True, callback=done),
            lambda done: ch.queue_declare(self.queue, durable=True, arguments=work, callback=done),
            lambda done: ch.queue_bind(self.queue, p + ".commands", routing_key=self.service,
                                       callback=done),
            lambda done: ch.queue_declare(p + ".replies", durable=True, arguments=work,
                                          callback=done),
            lambda done: ch.queue_declare(p + ".dead-letters", durable=True,
                                          arguments={"x-queue-type": self.queue_type},
                                          callback=done),
            lambda done: ch.queue_bind(p + ".dead-letters", p + ".dead", routing_key="",
                                       callback=done),
            lambda done: ch.basic_qos(prefetch_count=self.prefetch, callback=done),
        ]

        def next_step(_frame=None):
            if steps:
                steps.pop(0)(next_step)
                return
            ch.basic_consume(self.queue, self._on_message, auto_ack=False)
            self._consumed[0] = True
            self.ready.set()
            log.info("serving %s", self.queue)

        next_step()

    # A group of commands -----------------------------------------------------------------------
    def _on_message(self, _channel, method, properties, body):
        if self.queue_type == "classic" and method.redelivered:
            self._count_return(method.delivery_tag, properties, body)
            return
        held = self._held.get(properties.message_id or "")
        if held is not None:
            held[1].append((method.delivery_tag, properties, body))
            return
        self._accept(method.delivery_tag, properties, body)

    def _count_return(self, tag, properties, body):
        """Section 2, classic queues: the broker counts no deliveries, so a returned command is
        published back with its returns counted, or dead-lettered past the limit. Its copy is
        held back until the original is acknowledged: a crash in the copy's handler must not
        bring back both."""
        returns = envelope.returns_counted(properties) + 1
        if returns > envelope.DELIVERY_LIMIT:
            self._dead_letter(tag, properties, body,
                              f"returned {returns} times to '{self.queue}', over the delivery "
                              f"limit of {envelope.DELIVERY_LIMIT}", "delivery_limit")
            return
        log.warning("message %s came back to %s: return %d of at most %d",
                    printable(properties.message_id or ""), self.queue, returns,
                    envelope.DELIVERY_LIMIT)
        self._held.setdefault(properties.message_id or "", [0, []])[0] += 1
        self._publish(_Unconfirmed("return", tag, properties, body), "", self.queue, body,
                      envelope.returned_properties(properties, returns), mandatory=True)

    def _release(self, message_id):
        held = self._held.get(message_id)
        if held is None:
            return
        held[0] -= 1
        if held[0] == 0:
            del self._held[message_id]
            for delivery in held[1]:
                self._accept(*delivery)

    def _accept(self, tag, properties, body):
        self._pending.append((tag, properties, body))
        if len(self._pending) >= self.batch_size:
            self._flush()
        elif not self._flush_scheduled:
            # After the frames already read: they join this group.
            self._flush_scheduled = True
            self._connection.ioloop.call_later(0, self._flush)

    def _flush(self):
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        accepted = []
        for tag, properties, body in batch:
            try:
                kind, command = envelope.decode(properties, body, self.max_message_bytes)
            except Undecodable as error:
                self._dead_letter(tag, properties, body, str(error), error.code)
                continue
            if kind != "command":
                self._dead_letter(tag, properties, body,
                                  f"a command queue takes only commands, this is a {kind}",
                                  "wrong_kind")
            elif not command.reply_to:
                self._dead_letter(tag, properties, body,
                                  "command has no reply_to: nowhere to send the reply",
                                  "no_reply_to")
            else:
                accepted.append((tag, properties, body, command))
        if not accepted:
            return
        commands = [entry[3] for entry in accepted]
        try:
            replies = self.inbox.apply(commands, self._run, self.fault)
        except Exception as error:  # pylint: disable=broad-except
            # Nothing of the group committed (or its fate is unknown and the retry finds the
            # remembered reply): a technical error lets the step's retry policy decide.
            log.error("the inbox could not commit %d commands: %s", len(commands), error)
            body = json.dumps({"error": str(error)})
            replies = [Reply("technical_error", "InboxUnavailable", body) for _ in commands]
        if self.fault:
            self.fault("before_publish")
        for (tag, properties, body, command), reply in zip(accepted, replies):
            self._publish(_Unconfirmed("reply", tag, properties, body), "", command.reply_to,
                          reply.body.encode("utf-8"), envelope.reply_properties(command, reply),
                          mandatory=True)

    def _run(self, _cursor, command):
        """One command, inside its savepoint: (Reply, remember)."""
        handler = self.handlers.get(command.type)
        if handler is None:
            # Not remembered: a later deployment may serve the retry (section 5).
            return Reply("business_failure", "UnknownCommand",
                         json.dumps({"error": f"no handler for {command.type}"})), False
        if not isinstance(command.payload, dict):
            return Reply("business_failure", "MalformedPayload",
                         json.dumps({"error": "the body is not a JSON object"})), True
        try:
            result = handler(Context(self.inbox.connection(), command), command.payload)
            return Reply("success", "", json.dumps({} if result is None else result)), True
        except BusinessFailure as failure:
            return Reply("business_failure", failure.code, json.dumps(failure.details)), True
        except TechnicalError as error:
            return Reply("technical_error", error.code, json.dumps(error.details)), False
        except Exception as error:  # pylint: disable=broad-except
            log.exception("handler of %s failed", command.type)
            return Reply("technical_error", "HandlerException",
                         json.dumps({"error": str(error)})), False

    # Confirms settle the commands ---------------------------------------------------------------
    def _publish(self, entry, exchange, routing_key, body, properties, mandatory):
        self._channel.basic_publish(exchange, routing_key, body, properties, mandatory=mandatory)
        self._seq += 1
        self._unconfirmed[self._seq] = entry
        if entry.kind in ("reply", "return"):
            self._by_message_id[properties.message_id] = self._seq

    def _dead_letter(self, tag, properties, body, reason, code):
        """Section 9: a copy with the reason, confirmed, then the original is acknowledged."""
        log.warning("dead-lettering message %s from %s: %s",
                    printable(properties.message_id or ""), self.queue, printable(reason))
        self._publish(_Unconfirmed("dead", tag, properties, body), self.prefix + ".dead",
                      self.queue, body,
                      envelope.dead_letter_properties(properties, reason, self.queue, code),
                      mandatory=False)

    def _on_return(self, _channel, method, properties, _body):
        seq = self._by_message_id.get(properties.message_id)
        if seq in self._unconfirmed:
            self._unconfirmed[seq].returned = f"{method.reply_code} {method.reply_text}"

    def _on_confirm(self, frame):
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        if method.multiple:
            seqs = sorted(s for s in self._unconfirmed if s <= method.delivery_tag)
        else:
            seqs = [method.delivery_tag]
        for seq in seqs:
            entry = self._unconfirmed.pop(seq, None)
            if entry is None:
                continue
            if entry.kind == "reply":
                self._by_message_id.pop(entry.properties.message_id + "/reply", None)
            elif entry.kind == "return":
                self._by_message_id.pop(entry.properties.message_id, None)
            self._settle(entry, acked)

    def _settle(self, entry, acked):
        ch = self._channel
        if entry.kind == "return":
            if acked and not entry.returned:
                ch.basic_ack(entry.tag)
            else:
                # The copy was refused: the original is handled as it is, not returned again.
                self._accept(entry.tag, entry.properties, entry.body)
            self._release(entry.properties.message_id or "")
        elif entry.kind == "dead":
            if acked:
                ch.basic_ack(entry.tag)
            else:
                ch.basic_reject(entry.tag, requeue=False)  # the queue's dead-lettering takes it
        elif not acked:
            ch.basic_nack(entry.tag, requeue=True)  # the delivery limit bounds the loop
        elif entry.returned:
            self._dead_letter(entry.tag, entry.properties, entry.body,
                              "the reply cannot be delivered: unroutable: " + entry.returned,
                              "unroutable")
        else:
            ch.basic_ack(entry.tag)


def printable(text):
    """Input-derived text for a log line: control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
