#!/usr/bin/env python3
"""The `points` participant of Sagaflow's offer_purchase flow, in Python, on the sagaflow package
(clients/python): it serves points.reserve, points.release, points.debit and points.refund.

The package carries the protocol (docs/protocol.md): each command is applied once per
idempotency key, the handlers' writes commit with the remembered reply in one SQLite transaction
(SqliteInbox), the reply is confirmed before the command is acknowledged. This file is only the
service: its tables and its rules.

With --state-file, the state (read back from the database) is written there as JSON, atomically,
once consuming has started and after every group of commands is committed, before their replies
go out, so that tests and operators can look at it; SIGUSR1 writes it again, SIGTERM/SIGINT stop
the worker cleanly (unacknowledged commands go back to the queue).

Usage: points_worker.py --amqp amqp://guest:guest@127.0.0.1:5672/ --accounts alice=1000,bob=50
"""

import argparse
import json
import os
import signal
import sqlite3
import sys
import tempfile
import threading

try:
    import sagaflow
except ImportError:  # run from a checkout without installing: the package is beside it
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "clients", "python"))
    import sagaflow

from sagaflow import BusinessFailure, SqliteInbox, Worker  # noqa: E402

SERVICE = "points"

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (user_id TEXT PRIMARY KEY, initial INTEGER NOT NULL,
  balance INTEGER NOT NULL, reserved INTEGER NOT NULL DEFAULT 0,
  spent INTEGER NOT NULL DEFAULT 0, refunded INTEGER NOT NULL DEFAULT 0);
-- One hold per order: the order id is the hold's reference, known to the saga before it sends
-- the reserve, so that release finds the hold even when the reserve's reply was lost.
CREATE TABLE IF NOT EXISTS reservations (reservation_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, amount INTEGER NOT NULL,
  state TEXT NOT NULL);
-- Orders released before any hold was made for them: a reserve arriving later holds nothing.
CREATE TABLE IF NOT EXISTS released_unheld (order_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL, kind TEXT NOT NULL, reservation_id TEXT NOT NULL,
  user_id TEXT NOT NULL, amount INTEGER NOT NULL);
"""


def log(*parts):
    print("points_worker:", *parts, file=sys.stderr, flush=True)


def field(payload, name, kind):
    value = payload.get(name)
    # bool is an int in Python, but true is not an amount.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BusinessFailure("MalformedPayload", {"error": f"'{name}' must be a {kind.__name__}"})
    return value


def record(db, ctx, kind, reservation_id, user, amount):
    db.execute("INSERT INTO ledger (idempotency_key, kind, reservation_id, user_id, amount) "
               "VALUES (?, ?, ?, ?, ?)", (ctx.command.key, kind, reservation_id, user, amount))


def hold_of(db, reservation_id):
    return db.execute("SELECT user_id, amount, state FROM reservations WHERE reservation_id = ?",
                      (reservation_id,)).fetchone()


# The business rules (the same as the C++ PointsService). A handler writes through ctx.db and
# never commits: a failure rolls its writes back, a success commits them with the reply.
def register(worker):
    @worker.handler("points.reserve")
    def reserve(ctx, payload):
        db = ctx.db
        user = field(payload, "user_id", str)
        amount = field(payload, "amount", int)
        order = field(payload, "order_id", str)
        if amount <= 0:
            raise BusinessFailure("InvalidAmount")
        if not order:
            raise BusinessFailure("MissingReference")
        # Released before it arrived (its saga gave up on it): it must not hold points.
        if db.execute("SELECT 1 FROM released_unheld WHERE order_id = ?", (order,)).fetchone():
            raise BusinessFailure("HoldReleased")
        # The same order reserved again (a resend under another key) is the same hold.
        known = db.execute("SELECT reservation_id, user_id, amount, state FROM reservations "
                           "WHERE order_id = ?", (order,)).fetchone()
        if known is not None:
            if known[1] != user or known[2] != amount:
                raise BusinessFailure("ReferenceReused")
            if known[3] == "released":
                raise BusinessFailure("HoldReleased")
            return {"reservation_id": known[0]}
        account = db.execute("SELECT balance FROM accounts WHERE user_id = ?", (user,)).fetchone()
        if account is None:
            raise BusinessFailure("UnknownUser")
        if account[0] < amount:
            raise BusinessFailure("InsufficientPoints")
        db.execute("UPDATE accounts SET balance = balance - ?, reserved = reserved + ? "
                   "WHERE user_id = ?", (amount, amount, user))
        count = db.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]
        reservation_id = f"res-{count + 1}"
        db.execute("INSERT INTO reservations VALUES (?, ?, ?, ?, 'reserved')",
                   (reservation_id, order, user, amount))
        record(db, ctx, "reserve", reservation_id, user, amount)
        return {"reservation_id": reservation_id}

    # Releasing when no hold was made for the order (the reserve failed, was lost, or is still
    # on its way) or when the hold is no longer reserved is a success: nothing is held, as the
    # compensation wants. The first case also closes the order.
    @worker.handler("points.release")
    def release(ctx, payload):
        db = ctx.db
        order = field(payload, "order_id", str)
        found = db.execute("SELECT reservation_id, user_id, amount, state FROM reservations "
                           "WHERE order_id = ?", (order,)).fetchone()
        if found is None:
            if order:
                db.execute("INSERT OR IGNORE INTO released_unheld VALUES (?)", (order,))
            return {"done": False}
        reservation_id, user, amount, state = found
        if state != "reserved":
            return {"done": False}
        db.execute("UPDATE accounts SET reserved = reserved - ?, balance = balance + ? "
                   "WHERE user_id = ?", (amount, amount, user))
        db.execute("UPDATE reservations SET state = 'released' WHERE reservation_id = ?",
                   (reservation_id,))
        record(db, ctx, "release", reservation_id, user, amount)
        return {"done": True}

    @worker.handler("points.debit")
    def debit(ctx, payload):
        db = ctx.db
        reservation_id = field(payload, "reservation_id", str)
        found = hold_of(db, reservation_id)
        if found is None:
            raise BusinessFailure("UnknownReservation")
        user, amount, state = found
        if state != "reserved":
            raise BusinessFailure("NotReserved")
        db.execute("UPDATE accounts SET reserved = reserved - ?, spent = spent + ? "
                   "WHERE user_id = ?", (amount, amount, user))
        db.execute("UPDATE reservations SET state = 'debited' WHERE reservation_id = ?",
                   (reservation_id,))
        record(db, ctx, "debit", reservation_id, user, amount)
        return {"amount": amount}

    @worker.handler("points.refund")
    def refund(ctx, payload):
        db = ctx.db
        # A compensation's input may be null when the step never produced a result (section 4).
        reservation_id = payload.get("reservation_id")
        if reservation_id is not None and not isinstance(reservation_id, str):
            raise BusinessFailure("MalformedPayload",
                                  {"error": "'reservation_id' must be a string"})
        found = hold_of(db, reservation_id) if reservation_id else None
        if found is None or found[2] != "debited":
            return {"done": False}
        user, amount, _ = found
        db.execute("UPDATE accounts SET balance = balance + ?, refunded = refunded + ? "
                   "WHERE user_id = ?", (amount, amount, user))
        db.execute("UPDATE reservations SET state = 'refunded' WHERE reservation_id = ?",
                   (reservation_id,))
        record(db, ctx, "refund", reservation_id, user, amount)
        return {"done": True}


class PointsInbox(SqliteInbox):
    """The package's SQLite inbox, counting what it answered from memory and writing the state
    file after each committed group (apply returns before the group's replies are published)."""

    def __init__(self, path, state):
        super().__init__(path, scope=SERVICE)
        self.state = state

    def apply(self, commands, run, fault=None):
        ran = []

        def counted(cursor, command):
            ran.append(command)
            return run(cursor, command)

        replies = super().apply(commands, counted, fault)
        self.state.count(len(commands), len(commands) - len(ran))
        return replies


class State:
    """The --state-file: the database's tables as JSON, and the counters."""

    def __init__(self, db_path, state_file):
        self.db_path = db_path
        self.state_file = state_file
        self.ready = False
        self.deliveries = 0
        self.repeats = 0
        self.lock = threading.Lock()

    def count(self, deliveries, repeats):
        with self.lock:
            self.deliveries += deliveries
            self.repeats += repeats
        self.write()

    def write(self):
        if not self.state_file:
            return
        with self.lock:
            db = sqlite3.connect(self.db_path)  # its own reader: only committed rows
            try:
                accounts = {row[0]: dict(zip(("initial", "balance", "reserved", "spent",
                                              "refunded"), row[1:]))
                            for row in db.execute("SELECT user_id, initial, balance, reserved,"
                                                  " spent, refunded FROM accounts")}
                reservations = {row[0]: dict(zip(("order_id", "user_id", "amount", "state"),
                                                 row[1:]))
                                for row in db.execute("SELECT * FROM reservations")}
                ledger = [dict(zip(("idempotency_key", "kind", "reservation_id", "user_id",
                                    "amount"), row))
                          for row in db.execute("SELECT idempotency_key, kind, reservation_id,"
                                                " user_id, amount FROM ledger ORDER BY seq")]
            finally:
                db.close()
            state = {"ready": self.ready, "accounts": accounts, "reservations": reservations,
                     "ledger": ledger, "deliveries": self.deliveries, "repeats": self.repeats}
            tmp = self.state_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(state, f, indent=1, sort_keys=True)
            os.replace(tmp, self.state_file)


def parse_accounts(text):
    accounts = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        user, sep, amount = item.partition("=")
        if not sep or not user:
            raise argparse.ArgumentTypeError(f"'{item}' is not user=points")
        accounts[user] = int(amount)
    return accounts


def open_database(path, accounts):
    """Creates the tables and the opening balances (an account already there keeps its own)."""
    db = sqlite3.connect(path)
    with db:
        db.executescript(SCHEMA)
        db.executemany("INSERT OR IGNORE INTO accounts (user_id, initial, balance) "
                       "VALUES (?, ?, ?)", [(u, n, n) for u, n in accounts.items()])
    db.close()


def main():
    parser = argparse.ArgumentParser(description="Sagaflow's points service, in Python")
    parser.add_argument("--amqp", required=True, help="amqp://user:password@host:port/vhost")
    parser.add_argument("--accounts", type=parse_accounts, default={},
                        help="opening balances: alice=1000,bob=50")
    parser.add_argument("--prefix", default="sagaflow", help="the topology's name prefix")
    parser.add_argument("--db", help="the SQLite file (default: a temporary one, deleted on exit)")
    parser.add_argument("--state-file", help="where to write the state as JSON")
    parser.add_argument("--prefetch", type=int, default=8)
    args = parser.parse_args()

    scratch = None
    if args.db is None:
        scratch = tempfile.TemporaryDirectory(prefix="points-worker-")
        args.db = os.path.join(scratch.name, "points.db")
    open_database(args.db, args.accounts)
    state = State(args.db, args.state_file)
    worker = Worker(args.amqp, SERVICE, PointsInbox(args.db, state), prefix=args.prefix,
                    prefetch=args.prefetch)
    register(worker)

    def announce():
        worker.ready.wait()
        state.ready = True
        log(f"consuming {worker.queue}")
        state.write()

    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=state.write).start())
    threading.Thread(target=announce, daemon=True).start()
    worker.run()
    state.write()
    log("stopped")
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
