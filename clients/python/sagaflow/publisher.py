"""Outside events (docs/protocol.md section 8), from a service that serves no command queue: a
payment webhook turned into `payment.succeeded`, a gateway callback. Declares nothing but the
events exchange, so it leaves no stray queue behind."""

import json
import threading

import pika
import pika.exceptions

from . import envelope


class EventNotRouted(Exception):
    """The broker returned the event (312 NO_ROUTE): no flow listens to that type."""


class EventPublisher:
    """publish() returns once the broker confirmed the event; raises EventNotRouted when nobody
    is bound to its type, and pika's AMQP errors when the broker cannot be reached (the caller
    retries with the same message_id: the orchestrator drops a repeated fact)."""

    def __init__(self, amqp_url, prefix="sagaflow"):
        self.url = amqp_url
        self.exchange = prefix + ".events"
        self._connection = None
        self._channel = None
        self._lock = threading.Lock()

    def _open(self):
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        parameters = pika.URLParameters(self.url)
        parameters.heartbeat = 10
        self._connection = pika.BlockingConnection(parameters)
        channel = self._connection.channel()
        channel.confirm_delivery()
        channel.exchange_declare(self.exchange, "topic", durable=True)
        self._channel = channel
        return channel

    def publish(self, event_type, payload, message_id, traceparent=""):
        """`message_id` must be stable for the fact (e.g. "payment.succeeded/pay-42")."""
        body = json.dumps(payload).encode("utf-8")
        properties = envelope.event_properties(event_type, message_id, traceparent)
        with self._lock:
            for attempt in (1, 2):  # one reconnect: a connection the broker closed while idle
                try:
                    self._open().basic_publish(self.exchange, event_type, body, properties,
                                               mandatory=True)
                    return
                except pika.exceptions.UnroutableError as error:
                    raise EventNotRouted(f"no queue is bound to event type {event_type}") from error
                except (pika.exceptions.AMQPConnectionError,
                        pika.exceptions.AMQPChannelError):
                    self.close()
                    if attempt == 2:
                        raise

    def close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # pylint: disable=broad-except
                pass
