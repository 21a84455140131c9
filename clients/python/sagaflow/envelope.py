"""The envelope of docs/protocol.md section 3: reading a command, addressing its reply, and the
copy that goes to the dead letters (section 9)."""

import json
from dataclasses import dataclass, field

import pika

MAX_MESSAGE_BYTES = 1024 * 1024  # section 10
OUTCOMES = ("success", "business_failure", "technical_error")
_STRING_HEADERS = ("sagaflow-kind", "flow", "step", "idempotency-key", "causation-id", "outcome",
                   "error-code", "traceparent")


class Undecodable(Exception):
    """The message breaks the envelope; its text is the dead letter's reason and `code` the
    reason's code (section 9): malformed_envelope unless given."""

    def __init__(self, reason, code="malformed_envelope"):
        super().__init__(reason)
        self.code = code


@dataclass
class Command:
    """A command as a handler sees it."""

    message_id: str
    type: str
    saga_id: str
    reply_to: str
    idempotency_key: str
    attempt: int
    flow: str
    step: str
    traceparent: str
    payload: object
    headers: dict = field(default_factory=dict)

    @property
    def key(self):
        """What the command is applied once per (section 6)."""
        return self.idempotency_key or self.message_id


@dataclass
class Reply:
    outcome: str
    error_code: str
    body: str  # JSON text, exactly as remembered


def header(headers, name):
    """A string header (section 3): absent is empty; another field type is undecodable."""
    value = (headers or {}).get(name)
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Undecodable(f"header '{name}' is not a string") from error
    if not isinstance(value, str):
        raise Undecodable(f"header '{name}' is not a string")
    return value


def decode(properties, body, max_bytes=MAX_MESSAGE_BYTES):
    """Reads a delivery as the C++ adapter does, raising Undecodable with the section 9 reason.
    Returns (kind, Command or None); only commands are decoded further."""
    if len(body) > max_bytes:
        raise Undecodable(f"message of {len(body)} bytes is over the limit of {max_bytes} bytes",
                          "oversized")
    if not properties.message_id:
        raise Undecodable("no message_id")
    content_type = properties.content_type
    if content_type and content_type != "application/json":
        raise Undecodable(f"content_type is '{content_type}', not application/json")
    headers = properties.headers or {}
    for name in _STRING_HEADERS:
        header(headers, name)
    kind = header(headers, "sagaflow-kind")
    if not kind:
        raise Undecodable("no sagaflow-kind header")
    if kind not in ("command", "reply", "event"):
        raise Undecodable(f"unknown sagaflow-kind '{kind}'")
    if not properties.type:
        raise Undecodable("no type")
    attempt = headers.get("attempt", 0)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 <= attempt < 2**32:
        raise Undecodable("header 'attempt' is not an integer from 0 to 2^32-1")
    outcome = header(headers, "outcome")
    if outcome and outcome not in OUTCOMES:
        raise Undecodable(f"unknown outcome '{outcome}'")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise Undecodable(f"body is not JSON: {error}", "not_json") from error
    if kind != "command":
        return kind, None
    return kind, Command(
        message_id=properties.message_id,
        type=properties.type,
        saga_id=properties.correlation_id or "",
        reply_to=properties.reply_to or "",
        idempotency_key=header(headers, "idempotency-key"),
        attempt=attempt,
        flow=header(headers, "flow"),
        step=header(headers, "step"),
        traceparent=header(headers, "traceparent"),
        payload=payload,
        headers=dict(headers),
    )


def reply_properties(command, reply):
    """Section 5: the reply addressed to *this* command, whatever attempt was remembered."""
    headers = {
        "sagaflow-kind": "reply",
        "causation-id": command.message_id,
        "outcome": reply.outcome,
        "attempt": command.attempt,
    }
    if reply.error_code:
        headers["error-code"] = reply.error_code
    for name, value in (("flow", command.flow), ("step", command.step),
                        ("idempotency-key", command.idempotency_key),
                        ("traceparent", command.traceparent)):
        if value:
            headers[name] = value
    return pika.BasicProperties(
        message_id=command.message_id + "/reply",
        type=command.type,
        correlation_id=command.saga_id or None,
        content_type="application/json",
        delivery_mode=2,
        headers=headers,
    )


def dead_letter_properties(properties, reason, queue, code):
    """Section 9: the original envelope kept whole, plus the reason, its code (one of the fixed
    set's) and the source queue."""
    headers = dict(properties.headers or {})
    headers["x-sagaflow-reason"] = reason
    headers["x-sagaflow-reason-code"] = code
    headers["x-sagaflow-queue"] = queue
    return _copy_properties(properties, headers)


def _copy_properties(properties, headers):
    """A message's properties, persistent, with these headers."""
    return pika.BasicProperties(
        content_type=properties.content_type,
        content_encoding=properties.content_encoding,
        headers=headers,
        delivery_mode=2,
        priority=properties.priority,
        correlation_id=properties.correlation_id,
        reply_to=properties.reply_to,
        message_id=properties.message_id,
        timestamp=properties.timestamp,
        type=properties.type,
        user_id=properties.user_id,
        app_id=properties.app_id,
    )


def event_properties(event_type, message_id, traceparent=""):
    """Section 8, outside events."""
    headers = {"sagaflow-kind": "event"}
    if traceparent:
        headers["traceparent"] = traceparent
    return pika.BasicProperties(message_id=message_id, type=event_type,
                                content_type="application/json", delivery_mode=2,
                                headers=headers)


QUEUE_TYPES = ("quorum", "classic")
DELIVERY_LIMIT = 3
RETURNS_HEADER = "x-sagaflow-returns"


def work_queue_arguments(prefix, queue_type="quorum"):
    """Section 2: exactly what the orchestrator declares, or the broker refuses the queue.
    Classic queues (one node) take no delivery limit: the consumer counts returns itself."""
    if queue_type == "classic":
        return {"x-queue-type": "classic", "x-dead-letter-exchange": prefix + ".dead"}
    return {"x-queue-type": "quorum", "x-dead-letter-exchange": prefix + ".dead",
            "x-delivery-limit": DELIVERY_LIMIT}


def returns_counted(properties):
    """Section 2, classic queues: the returns the message carries (absent or not a count: 0)."""
    value = (properties.headers or {}).get(RETURNS_HEADER)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def returned_properties(properties, returns):
    """Section 2, classic queues: the copy published back, every property and header as
    received but the returns counted."""
    headers = dict(properties.headers or {})
    headers[RETURNS_HEADER] = returns
    return _copy_properties(properties, headers)
