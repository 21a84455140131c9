#!/usr/bin/env python3
"""The services of points_charge in Python, on the sagaflow package (clients/python): the payment
gateway (payment_gateway.charge, payment_gateway.refund) and the points credits (points.add,
points.revoke), each a Worker with a SqliteInbox in a database of its own. Their rules are those
of the C++ participants (sagas/src/payment_gateway.cpp, sagas/src/points.cpp), as far as
points_charge needs them, seeded as sagas/src/demo_data.cpp seeds them for this flow.

    points_charge_worker.py --amqp URL --prefix P --dir DIR --ready FILE   serves until SIGTERM
    points_charge_worker.py --dir DIR --report                             prints the state as JSON
"""

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading

from sagaflow import BusinessFailure, SqliteInbox, Worker

SCHEMA = {
    "payment_gateway": """
CREATE TABLE IF NOT EXISTS methods (method TEXT PRIMARY KEY, initial INTEGER NOT NULL,
  funds INTEGER NOT NULL, declined INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS payments (reference TEXT PRIMARY KEY, payment_id TEXT NOT NULL,
  user_id TEXT NOT NULL, method TEXT NOT NULL, amount INTEGER NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT OR IGNORE INTO methods VALUES ('card-vic', 10000, 10000, 0), ('card-wes', 10000, 10000, 1),
  ('card-xia', 10000, 10000, 0);
""",
    "points": """
CREATE TABLE IF NOT EXISTS accounts (user_id TEXT PRIMARY KEY, balance INTEGER NOT NULL,
  added INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0, frozen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS credits (reference TEXT PRIMARY KEY, credit_id TEXT NOT NULL,
  user_id TEXT NOT NULL, amount INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, amount INTEGER NOT NULL);
INSERT OR IGNORE INTO accounts (user_id, balance, frozen) VALUES ('vic', 0, 0), ('wes', 0, 0),
  ('xia', 0, 1);
""",
}


def database(directory, service):
    return os.path.join(directory, service + ".db")


def field(payload, name, kind):
    value = payload.get(name, kind())
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BusinessFailure("MalformedPayload", {"error": f"'{name}' must be a {kind.__name__}"})
    return value


def record(db, ctx, kind, subject, amount):
    db.execute("INSERT INTO ledger (idempotency_key, kind, subject, amount) VALUES (?, ?, ?, ?)",
               (ctx.command.key, kind, subject, amount))


def serve_payment_gateway(worker):
    @worker.handler("payment_gateway.charge")
    def charge(ctx, payload):
        amount = field(payload, "amount", int)
        method, reference = field(payload, "method", str), field(payload, "reference", str)
        if amount <= 0:
            raise BusinessFailure("InvalidAmount")
        if not reference:
            raise BusinessFailure("MissingReference")
        db = ctx.db
        # The same reference charged again (a resend under another key) is the same payment.
        known = db.execute("SELECT payment_id, amount, method FROM payments WHERE reference = ?",
                           (reference,)).fetchone()
        if known is not None:
            if known[1] != amount or known[2] != method:
                raise BusinessFailure("ReferenceReused")
            return {"payment_id": known[0], "amount": known[1]}
        row = db.execute("SELECT funds, declined FROM methods WHERE method = ?", (method,)).fetchone()
        if row is None:
            raise BusinessFailure("UnknownMethod")
        if row[1]:
            raise BusinessFailure("CardDeclined")
        if row[0] < amount:
            raise BusinessFailure("InsufficientFunds")
        payment_id = "pay-%d" % (db.execute("SELECT COUNT(*) FROM payments").fetchone()[0] + 1)
        db.execute("UPDATE methods SET funds = funds - ? WHERE method = ?", (amount, method))
        db.execute("INSERT INTO payments VALUES (?, ?, ?, ?, ?, 'captured')",
                   (reference, payment_id, field(payload, "user_id", str), method, amount))
        record(db, ctx, "charge", payment_id, amount)
        return {"payment_id": payment_id, "amount": amount}

    # Refunding a charge that never happened (or was already refunded) succeeds with done=false.
    @worker.handler("payment_gateway.refund")
    def refund(ctx, payload):
        db = ctx.db
        row = db.execute("SELECT payment_id, method, amount, status FROM payments "
                         "WHERE reference = ?", (field(payload, "reference", str),)).fetchone()
        if row is None or row[3] != "captured":
            return {"done": False, "amount": 0}
        payment_id, method, amount, _ = row
        db.execute("UPDATE methods SET funds = funds + ? WHERE method = ?", (amount, method))
        db.execute("UPDATE payments SET status = 'refunded' WHERE payment_id = ?", (payment_id,))
        record(db, ctx, "refund", payment_id, amount)
        return {"done": True, "amount": amount}


def serve_points(worker):
    @worker.handler("points.add")
    def add(ctx, payload):
        user, amount = field(payload, "user_id", str), field(payload, "amount", int)
        reference = field(payload, "reference", str)
        if amount <= 0:
            raise BusinessFailure("InvalidAmount")
        if not reference:
            raise BusinessFailure("MissingReference")
        db = ctx.db
        account = db.execute("SELECT balance, frozen FROM accounts WHERE user_id = ?",
                             (user,)).fetchone()
        if account is None:
            raise BusinessFailure("UnknownUser")
        if account[1]:
            raise BusinessFailure("AccountFrozen")
        # The same reference credited again (a resend under another key) is the same credit.
        known = db.execute("SELECT credit_id, user_id, amount FROM credits WHERE reference = ?",
                           (reference,)).fetchone()
        if known is not None:
            if known[1] != user or known[2] != amount:
                raise BusinessFailure("ReferenceReused")
            return {"credit_id": known[0], "balance": account[0]}
        credit_id = "credit-%d" % (db.execute("SELECT COUNT(*) FROM credits").fetchone()[0] + 1)
        db.execute("UPDATE accounts SET balance = balance + ?, added = added + ? WHERE user_id = ?",
                   (amount, amount, user))
        db.execute("INSERT INTO credits (reference, credit_id, user_id, amount) VALUES (?, ?, ?, ?)",
                   (reference, credit_id, user, amount))
        record(db, ctx, "add", credit_id, amount)
        return {"credit_id": credit_id, "balance": account[0] + amount}

    # Revoking a credit that never happened (or was revoked already) succeeds with done=false;
    # points already spent cannot be taken back.
    @worker.handler("points.revoke")
    def revoke(ctx, payload):
        db = ctx.db
        credit = db.execute("SELECT credit_id, user_id, amount, revoked FROM credits "
                            "WHERE reference = ?", (field(payload, "reference", str),)).fetchone()
        if credit is None or credit[3]:
            return {"done": False}
        credit_id, user, amount, _ = credit
        balance = db.execute("SELECT balance FROM accounts WHERE user_id = ?", (user,)).fetchone()[0]
        if balance < amount:
            raise BusinessFailure("PointsAlreadySpent")
        db.execute("UPDATE accounts SET balance = balance - ?, revoked = revoked + ? "
                   "WHERE user_id = ?", (amount, amount, user))
        db.execute("UPDATE credits SET revoked = 1 WHERE credit_id = ?", (credit_id,))
        record(db, ctx, "revoke", credit_id, amount)
        return {"done": True}


def report(directory):
    """Each service's tables, its ledger, and how many idempotency keys it applied twice."""
    out = {}
    for service, tables in (("payment_gateway", ("methods", "payments")),
                            ("points", ("accounts", "credits"))):
        db = sqlite3.connect(database(directory, service))
        db.row_factory = sqlite3.Row
        state = {t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in tables}
        state["applied"] = db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
        state["repeated"] = db.execute(
            "SELECT COUNT(*) FROM (SELECT idempotency_key FROM ledger GROUP BY idempotency_key "
            "HAVING COUNT(*) > 1)").fetchone()[0]
        out[service] = state
        db.close()
    json.dump(out, sys.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--amqp")
    parser.add_argument("--prefix", default="sagaflow")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--ready")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        return report(args.dir)

    workers = []
    for service, serve in (("payment_gateway", serve_payment_gateway), ("points", serve_points)):
        path = database(args.dir, service)
        with sqlite3.connect(path) as setup:
            setup.executescript(SCHEMA[service])
        worker = Worker(args.amqp, service, SqliteInbox(path, scope=service), prefix=args.prefix)
        serve(worker)
        workers.append(worker)
    signal.signal(signal.SIGTERM, lambda *_: [w.stop() for w in workers])
    threads = [threading.Thread(target=w.run) for w in workers]
    for t in threads:
        t.start()
    while not all(w.ready.wait(0.1) for w in workers):
        if not all(t.is_alive() for t in threads):
            sys.exit("points_charge_worker: a worker stopped before consuming")
    with open(args.ready, "w", encoding="utf-8") as ready:
        ready.write("ready\n")
    while any(t.is_alive() for t in threads):  # joins that a signal can interrupt
        for t in threads:
            t.join(0.1)


if __name__ == "__main__":
    main()
