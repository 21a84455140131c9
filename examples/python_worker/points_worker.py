#!/usr/bin/env python3
"""The `points` participant of Sagaflow's offer_purchase flow, on RabbitMQ, in Python.

Written from docs/protocol.md alone (section numbers below refer to it): it serves
points.reserve, points.release, points.debit and points.refund, applies each command once per
idempotency key, and acks a command only after the broker confirmed its reply.

State is in memory: accounts, reservations, a ledger of effects and the remembered replies.
With --state-file, the whole state is written there as JSON (atomically) once consuming has
started and after every command, so that tests and operators can look at it; SIGUSR1 writes it
again, SIGTERM/SIGINT stop the worker cleanly (unacknowledged commands go back to the queue).

Usage: points_worker.py --amqp amqp://guest:guest@127.0.0.1:5672/ --accounts alice=1000,bob=50
"""

import argparse
import json
import os
import signal
import sys
import time

import pika
import pika.exceptions

SERVICE = "points"
MAX_BODY_BYTES = 1024 * 1024  # section 10


def log(*parts):
    print("points_worker:", *parts, file=sys.stderr, flush=True)


class BusinessFailure(Exception):
    """A rule said no: answered as business_failure, never retried, nothing changed."""

    def __init__(self, code, details=None):
        super().__init__(code)
        self.code = code
        self.details = details or {}


class Malformed(BusinessFailure):
    def __init__(self, error):
        super().__init__("MalformedPayload", {"error": error})


# ---------------------------------------------------------------------------------------------
# The business rules (the same as the C++ PointsService).


def field(payload, name, kind):
    value = payload.get(name) if isinstance(payload, dict) else None
    # bool is an int in Python, but true is not an amount.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Malformed(f"'{name}' must be a {kind.__name__}")
    return value


class Points:
    def __init__(self, accounts):
        self.accounts = {
            user: {"initial": n, "balance": n, "reserved": 0, "spent": 0, "refunded": 0}
            for user, n in accounts.items()
        }
        self.reservations = {}  # id -> {order_id, user_id, amount, state}
        self.holds = {}  # order id -> reservation id: one hold per order
        self.released_unheld = set()  # orders released before any hold was made for them
        self.ledger = []
        self.next_id = 1

    def apply(self, command_type, payload, key):
        handler = {
            "points.reserve": self.reserve,
            "points.release": self.release,
            "points.debit": self.debit,
            "points.refund": self.refund,
        }.get(command_type)
        if handler is None:
            return None
        return handler(payload, key)

    def record(self, key, kind, reservation_id, amount):
        self.ledger.append(
            {
                "idempotency_key": key,
                "kind": kind,
                "reservation_id": reservation_id,
                "user_id": self.reservations[reservation_id]["user_id"],
                "amount": amount,
            }
        )

    # One hold per order: the order id is the hold's reference, known to the saga before it sends
    # the reserve, so that release finds the hold even when the reserve's reply was lost.
    def reserve(self, payload, key):
        user = field(payload, "user_id", str)
        amount = field(payload, "amount", int)
        order = field(payload, "order_id", str)
        if amount <= 0:
            raise BusinessFailure("InvalidAmount")
        if not order:
            raise BusinessFailure("MissingReference")
        # Released before it arrived (its saga gave up on it): it must not hold points.
        if order in self.released_unheld:
            raise BusinessFailure("HoldReleased")
        # The same order reserved again (a resend under another key) is the same hold.
        known = self.holds.get(order)
        if known is not None:
            hold = self.reservations[known]
            if hold["user_id"] != user or hold["amount"] != amount:
                raise BusinessFailure("ReferenceReused")
            if hold["state"] == "released":
                raise BusinessFailure("HoldReleased")
            return {"reservation_id": known}
        account = self.accounts.get(user)
        if account is None:
            raise BusinessFailure("UnknownUser")
        if account["balance"] < amount:
            raise BusinessFailure("InsufficientPoints")
        account["balance"] -= amount
        account["reserved"] += amount
        reservation_id = f"res-{self.next_id}"
        self.next_id += 1
        self.reservations[reservation_id] = {
            "order_id": order,
            "user_id": user,
            "amount": amount,
            "state": "reserved",
        }
        self.holds[order] = reservation_id
        self.record(key, "reserve", reservation_id, amount)
        return {"reservation_id": reservation_id}

    def _reservation(self, payload, allow_null):
        value = payload.get("reservation_id") if isinstance(payload, dict) else None
        # A compensation's input may be null when the step never produced a result (section 4).
        if value is None and allow_null:
            return None, None
        if not isinstance(value, str):
            raise Malformed("'reservation_id' must be a string")
        return value, self.reservations.get(value)

    # Releasing when no hold was made for the order (the reserve failed, was lost, or is still on
    # its way) or when the hold is no longer reserved is a success: nothing is held, as the
    # compensation wants. The first case also closes the order, so that a reserve arriving later
    # holds nothing.
    def release(self, payload, key):
        order = field(payload, "order_id", str)
        reservation_id = self.holds.get(order)
        if reservation_id is None:
            if order:
                self.released_unheld.add(order)
            return {"done": False}
        found = self.reservations[reservation_id]
        if found["state"] != "reserved":
            return {"done": False}
        account = self.accounts[found["user_id"]]
        account["reserved"] -= found["amount"]
        account["balance"] += found["amount"]
        found["state"] = "released"
        self.record(key, "release", reservation_id, found["amount"])
        return {"done": True}

    def debit(self, payload, key):
        reservation_id, found = self._reservation(payload, allow_null=False)
        if found is None:
            raise BusinessFailure("UnknownReservation")
        if found["state"] != "reserved":
            raise BusinessFailure("NotReserved")
        account = self.accounts[found["user_id"]]
        account["reserved"] -= found["amount"]
        account["spent"] += found["amount"]
        found["state"] = "debited"
        self.record(key, "debit", reservation_id, found["amount"])
        return {"amount": found["amount"]}

    def refund(self, payload, key):
        reservation_id, found = self._reservation(payload, allow_null=True)
        if found is None or found["state"] != "debited":
            return {"done": False}
        account = self.accounts[found["user_id"]]
        account["balance"] += found["amount"]
        account["refunded"] += found["amount"]
        found["state"] = "refunded"
        self.record(key, "refund", reservation_id, found["amount"])
        return {"done": True}


# ---------------------------------------------------------------------------------------------
# The protocol.


class Worker:
    def __init__(self, args, points):
        self.url = args.amqp
        self.prefix = args.prefix
        self.prefetch = args.prefetch
        self.state_file = args.state_file
        self.points = points
        # idempotency key -> (outcome, error_code, body): section 6. Technical errors never enter.
        self.replies = {}
        self.deliveries = 0
        self.repeats = 0
        self.stopping = False
        self.dump_requested = False
        self.connection = None
        self.channel = None

    # Names: section 2.
    def name(self, suffix):
        return f"{self.prefix}.{suffix}"

    @property
    def queue(self):
        return self.name(f"commands.{SERVICE}")

    def work_queue_arguments(self):
        return {
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": self.name("dead"),
            "x-delivery-limit": 3,
        }

    def declare(self, ch):
        for exchange, kind in (("commands", "topic"), ("events", "topic"), ("dead", "fanout")):
            ch.exchange_declare(self.name(exchange), exchange_type=kind, durable=True)
        for queue in (self.queue, self.name("replies")):
            ch.queue_declare(queue, durable=True, arguments=self.work_queue_arguments())
        ch.queue_bind(self.queue, self.name("commands"), routing_key=SERVICE)
        dead_letters = self.name("dead-letters")
        ch.queue_declare(dead_letters, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(dead_letters, self.name("dead"), routing_key="")

    def run(self):
        backoff = 0.1
        while not self.stopping:
            try:
                params = pika.URLParameters(self.url)
                params.heartbeat = 10
                params.client_properties = {
                    "connection_name": f"sagaflow python worker '{SERVICE}' [{self.prefix}]"
                }
                self.connection = pika.BlockingConnection(params)
                ch = self.connection.channel()
                ch.confirm_delivery()  # section 7: replies are confirmed before the ack
                self.declare(ch)
                ch.basic_qos(prefetch_count=self.prefetch)
                ch.basic_consume(self.queue, self.on_command, auto_ack=False)
                self.channel = ch
                backoff = 0.1
                log(f"consuming {self.queue}")
                self.write_state()
                self.connection.call_later(0.1, self.tick)
                ch.start_consuming()
            except (pika.exceptions.AMQPError, OSError) as error:
                if self.stopping:
                    break
                log(f"connection lost ({error!r}); reconnecting in {backoff:.1f}s")
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.close()
        self.write_state()

    def close(self):
        if self.connection is not None and self.connection.is_open:
            try:
                self.connection.close()
            except pika.exceptions.AMQPError:
                pass
        self.connection = None
        self.channel = None

    # Signals only set flags: the state must not be read half-changed by a handler.
    def tick(self):
        if self.dump_requested:
            self.dump_requested = False
            self.write_state()
        if self.stopping:
            self.channel.stop_consuming()
            return
        self.connection.call_later(0.1, self.tick)

    def on_command(self, ch, deliver, props, body):
        self.deliveries += 1
        headers = props.headers or {}
        reason = self.undecodable(props, headers, body)
        if reason is not None:
            return self.dead_letter(ch, deliver, props, body, reason)
        payload = json.loads(body)
        kind = header(headers, "sagaflow-kind")
        if kind != "command":
            return self.dead_letter(
                ch, deliver, props, body, f"a command queue takes only commands, this is a {kind}"
            )
        if not props.reply_to:
            return self.dead_letter(
                ch, deliver, props, body, "command has no reply_to: nowhere to send the reply"
            )

        key = header(headers, "idempotency-key") or props.message_id
        remembered = self.replies.get(key)
        if remembered is not None:
            self.repeats += 1
            outcome, code, result = remembered
        else:
            outcome, code, result = self.execute(props.type, payload, key)
            if outcome != "technical_error":
                self.replies[key] = (outcome, code, result)
        self.write_state()

        reply_headers = {"sagaflow-kind": "reply", "causation-id": props.message_id,
                         "outcome": outcome}
        for name in ("attempt", "flow", "step", "idempotency-key", "traceparent"):
            if name in headers:
                reply_headers[name] = headers[name]
        if code:
            reply_headers["error-code"] = code
        reply = pika.BasicProperties(
            message_id=props.message_id + "/reply",
            type=props.type,
            correlation_id=props.correlation_id,
            content_type="application/json",
            delivery_mode=2,
            headers=reply_headers,
        )
        try:
            ch.basic_publish("", props.reply_to, json.dumps(result).encode(), reply,
                             mandatory=True)
        except pika.exceptions.UnroutableError:
            return self.dead_letter(
                ch, deliver, props, body,
                f"the reply cannot be delivered: unroutable: no queue '{props.reply_to}'",
            )
        except pika.exceptions.NackError:
            # Not confirmed: give the command back; the delivery limit bounds the loop.
            ch.basic_nack(deliver.delivery_tag, requeue=True)
            return
        ch.basic_ack(deliver.delivery_tag)

    def execute(self, command_type, payload, key):
        try:
            result = self.points.apply(command_type, payload, key)
        except BusinessFailure as failure:
            return "business_failure", failure.code, failure.details
        except Exception as error:  # pylint: disable=broad-except
            log(f"{command_type} failed: {error!r}")
            return "technical_error", "HandlerException", {"error": repr(error)}
        if result is None:
            return "business_failure", "UnknownCommand", {}
        return "success", "", result

    # What the protocol says cannot be a command at all (sections 3 and 9).
    @staticmethod
    def undecodable(props, headers, body):
        if len(body) > MAX_BODY_BYTES:
            return f"message of {len(body)} bytes is over the limit of {MAX_BODY_BYTES} bytes"
        if not props.message_id:
            return "no message_id"
        if props.content_type not in (None, "application/json"):
            return f"content_type is '{props.content_type}', not application/json"
        if not headers.get("sagaflow-kind"):
            return "no sagaflow-kind header"
        if not props.type:
            return "no type"
        for name in ("sagaflow-kind", "flow", "step", "idempotency-key", "traceparent"):
            if name in headers and not isinstance(headers[name], (str, bytes)):
                return f"header '{name}' is not a string"
        try:
            json.loads(body)
        except ValueError as error:
            return f"body is not JSON: {error}"
        return None

    # Section 9: a copy with the reason to the dead exchange, confirmed, then the ack; if the
    # copy is refused, reject so that the queue's own dead-lettering takes it.
    def dead_letter(self, ch, deliver, props, body, reason):
        log(f"dead-lettering {props.message_id!r}: {reason}")
        headers = dict(props.headers or {})
        headers["x-sagaflow-reason"] = reason
        headers["x-sagaflow-queue"] = self.queue
        copy = pika.BasicProperties(
            content_type=props.content_type,
            delivery_mode=2,
            headers=headers,
            message_id=props.message_id,
            correlation_id=props.correlation_id,
            reply_to=props.reply_to,
            type=props.type,
        )
        try:
            ch.basic_publish(self.name("dead"), self.queue, body, copy, mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError):
            ch.basic_reject(deliver.delivery_tag, requeue=False)
            return
        ch.basic_ack(deliver.delivery_tag)

    def write_state(self):
        if not self.state_file:
            return
        state = {
            "ready": self.channel is not None,
            "accounts": self.points.accounts,
            "reservations": self.points.reservations,
            "ledger": self.points.ledger,
            "deliveries": self.deliveries,
            "repeats": self.repeats,
        }
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, sort_keys=True)
        os.replace(tmp, self.state_file)


def header(headers, name):
    value = headers.get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value or ""


def parse_accounts(text):
    accounts = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        user, sep, amount = item.partition("=")
        if not sep or not user:
            raise argparse.ArgumentTypeError(f"'{item}' is not user=points")
        accounts[user] = int(amount)
    return accounts


def main():
    parser = argparse.ArgumentParser(description="Sagaflow's points service, in Python")
    parser.add_argument("--amqp", required=True, help="amqp://user:password@host:port/vhost")
    parser.add_argument("--accounts", type=parse_accounts, default={},
                        help="opening balances: alice=1000,bob=50")
    parser.add_argument("--prefix", default="sagaflow", help="the topology's name prefix")
    parser.add_argument("--state-file", help="where to write the state as JSON")
    parser.add_argument("--prefetch", type=int, default=8)
    args = parser.parse_args()

    worker = Worker(args, Points(args.accounts))

    def stop(signum, frame):  # pylint: disable=unused-argument
        worker.stopping = True

    def dump(signum, frame):  # pylint: disable=unused-argument
        worker.dump_requested = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, dump)
    worker.run()
    log("stopped")


if __name__ == "__main__":
    main()
