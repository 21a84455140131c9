"""Sagaflow workers in Python: serve a service's commands over RabbitMQ with the idempotency and
acknowledgement rules of docs/protocol.md, a transactional inbox in the service's own database
(SQLite or PostgreSQL), and an event publisher."""

from .envelope import Command, Reply
from .inbox import Inbox, PostgresInbox, SqliteInbox
from .publisher import EventNotRouted, EventPublisher
from .worker import BusinessFailure, Context, TechnicalError, Worker

__all__ = ["BusinessFailure", "Command", "Context", "EventNotRouted", "EventPublisher", "Inbox",
           "PostgresInbox", "Reply", "SqliteInbox", "TechnicalError", "Worker"]
