"""A transactional inbox: the handler's writes, the command's idempotency key and the reply it is
answered with commit in one transaction of the service's own database (docs/protocol.md
section 6). The table is the one the C++ worker library uses, so a service may move between
languages without forgetting what it applied:

    sagaflow_inbox(scope, idempotency_key, command_id, command_type, outcome, error_code, body,
                   applied_at)  PRIMARY KEY (scope, idempotency_key)
    sagaflow_inbox_schema(version)

Both are created on first use; migrations are numbered and never edited once released."""

import sqlite3
import threading
import time

from .envelope import Reply

_MIGRATIONS = [
    [
        """CREATE TABLE sagaflow_inbox (
  scope           TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  command_id      TEXT NOT NULL,
  command_type    TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  error_code      TEXT NOT NULL,
  body            TEXT NOT NULL,
  applied_at      BIGINT NOT NULL,
  PRIMARY KEY (scope, idempotency_key)
)""",
        "CREATE INDEX sagaflow_inbox_applied_at ON sagaflow_inbox (applied_at)",
    ],
]


class Inbox:
    """One database's inbox. Subclasses say how to talk to the database; the rule is here."""

    placeholder = "?"

    def __init__(self, scope=""):
        self.scope = scope
        self._migrated = False
        self._lock = threading.Lock()

    # What a subclass provides -------------------------------------------------------------
    def connection(self):
        """The DB-API connection handlers write through (ctx.db)."""
        raise NotImplementedError

    def _begin(self):
        raise NotImplementedError

    def _lock_schema(self, cursor):
        """Serialises migrations between processes sharing the database."""

    # The rule ----------------------------------------------------------------------------
    def _sql(self, text):
        return text.replace("?", self.placeholder)

    def _migrate(self, cursor):
        self._lock_schema(cursor)
        cursor.execute("CREATE TABLE IF NOT EXISTS sagaflow_inbox_schema (version INTEGER NOT NULL)")
        cursor.execute("SELECT COALESCE(MAX(version), 0) FROM sagaflow_inbox_schema")
        version = int(cursor.fetchone()[0])
        if version > len(_MIGRATIONS):
            raise RuntimeError(f"sagaflow_inbox: the database's schema version {version} is newer "
                               f"than this library's ({len(_MIGRATIONS)})")
        for number in range(version, len(_MIGRATIONS)):
            for statement in _MIGRATIONS[number]:
                cursor.execute(statement)
            cursor.execute(self._sql("INSERT INTO sagaflow_inbox_schema (version) VALUES (?)"),
                           (number + 1,))

    def remembered(self, cursor, key):
        cursor.execute(self._sql("SELECT outcome, error_code, body FROM sagaflow_inbox "
                                 "WHERE scope = ? AND idempotency_key = ?"), (self.scope, key))
        row = cursor.fetchone()
        return Reply(row[0], row[1], row[2]) if row else None

    def _remember(self, cursor, command, reply):
        """False when another process committed the same key first."""
        cursor.execute(
            self._sql("INSERT INTO sagaflow_inbox (scope, idempotency_key, command_id, command_type,"
                      " outcome, error_code, body, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT DO NOTHING"),
            (self.scope, command.key, command.message_id, command.type, reply.outcome,
             reply.error_code, reply.body, int(time.time() * 1000)))
        return cursor.rowcount == 1

    def apply(self, commands, run, fault=None):
        """Applies a group of commands in one transaction, each in its own savepoint.

        `run(cursor, command)` returns (Reply, remember). Only a success keeps the command's
        writes; a failure's are rolled back. Remembered replies (success, business failure) are
        stored with the key; a technical error is answered but not remembered, so that the retry
        runs the command again. A command
        whose key is remembered is not run again: its remembered Reply is returned. Returns one
        Reply per command, in order, once the transaction committed; raises (nothing committed)
        when the database fails. `fault(point)` is a test hook called between the steps."""
        fault = fault or (lambda point: None)
        with self._lock:
            connection = self.connection()
            cursor = self._begin()
            try:
                if not self._migrated:
                    self._migrate(cursor)
                replies = []
                for command in commands:
                    reply = self.remembered(cursor, command.key)
                    if reply is not None:
                        replies.append(reply)
                        continue
                    cursor.execute("SAVEPOINT sagaflow_command")
                    reply, remember = run(cursor, command)
                    fault("handled")
                    if reply.outcome != "success":
                        # A refused or broken command leaves nothing behind.
                        cursor.execute("ROLLBACK TO SAVEPOINT sagaflow_command")
                    if remember and not self._remember(cursor, command, reply):
                        # Another process applied the key meanwhile: its effect stands.
                        cursor.execute("ROLLBACK TO SAVEPOINT sagaflow_command")
                        reply = self.remembered(cursor, command.key)
                    cursor.execute("RELEASE SAVEPOINT sagaflow_command")
                    fault("released")
                    replies.append(reply)
                connection.commit()
                self._migrated = True
            except BaseException:
                try:
                    connection.rollback()
                except Exception:  # pylint: disable=broad-except
                    pass  # the connection is gone: the transaction went with it
                raise
            finally:
                cursor.close()
            fault("committed")
            return replies

    def find(self, key):
        """The remembered reply of a key, or None (for reports and tests)."""
        with self._lock:
            cursor = self._begin()
            try:
                if not self._migrated:
                    self._migrate(cursor)
                reply = self.remembered(cursor, key)
                self.connection().commit()
                self._migrated = True
                return reply
            except BaseException:
                self.connection().rollback()
                raise
            finally:
                cursor.close()


class SqliteInbox(Inbox):
    """The inbox in a SQLite file (WAL). Handlers get the sqlite3 connection as ctx.db."""

    def __init__(self, path, scope=""):
        super().__init__(scope)
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                           timeout=30)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=FULL")
        self._in_transaction = False

    def connection(self):
        return self._connection

    def _begin(self):
        # IMMEDIATE: the write lock first, so two processes never both read a key as new.
        if not self._connection.in_transaction:
            self._connection.execute("BEGIN IMMEDIATE")
        return self._connection.cursor()

    def close(self):
        self._connection.close()


class PostgresInbox(Inbox):
    """The inbox in PostgreSQL (psycopg2). Handlers get the psycopg2 connection as ctx.db."""

    placeholder = "%s"

    def __init__(self, dsn, scope=""):
        super().__init__(scope)
        import psycopg2  # pylint: disable=import-outside-toplevel

        self._psycopg2 = psycopg2
        self._dsn = dsn
        self._connection = psycopg2.connect(dsn)

    def connection(self):
        if self._connection.closed:
            self._connection = self._psycopg2.connect(self._dsn)
        return self._connection

    def _begin(self):
        return self.connection().cursor()  # psycopg2 opens the transaction at the first statement

    def _lock_schema(self, cursor):
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sagaflow_inbox_schema'))")

    def close(self):
        self._connection.close()
