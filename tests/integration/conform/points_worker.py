#!/usr/bin/env python3
"""A points service on the sagaflow package (clients/python) for `sagactl conform`: reserve holds
points for an order, release gives them back (nothing held: nothing to undo). State in SQLite,
committed with the inbox. Usage: points_worker.py AMQP_URL PREFIX DB_FILE READY_FILE"""

import signal
import sys

from sagaflow import BusinessFailure, SqliteInbox, Worker

url, prefix, db_file, ready_file = sys.argv[1:5]
inbox = SqliteInbox(db_file, scope="points")
worker = Worker(url, "points", inbox, prefix=prefix)


def field(payload, name, kind):
    value = payload.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BusinessFailure("MalformedPayload", {"error": f"'{name}' must be a {kind.__name__}"})
    return value


def tables(db):
    db.execute("CREATE TABLE IF NOT EXISTS holds (order_id TEXT PRIMARY KEY, user_id TEXT,"
               " amount INTEGER, state TEXT)")


@worker.handler("points.reserve")
def reserve(ctx, payload):
    user, amount = field(payload, "user_id", str), field(payload, "amount", int)
    order = field(payload, "order_id", str)
    tables(ctx.db)
    row = ctx.db.execute("SELECT state FROM holds WHERE order_id = ?", (order,)).fetchone()
    if row is not None:
        raise BusinessFailure("HoldReleased" if row[0] == "released" else "ReferenceReused")
    ctx.db.execute("INSERT INTO holds VALUES (?, ?, ?, 'reserved')", (order, user, amount))
    return {"reservation_id": "res-" + order}


@worker.handler("points.release")
def release(ctx, payload):
    order = field(payload, "order_id", str)
    tables(ctx.db)
    row = ctx.db.execute("SELECT state FROM holds WHERE order_id = ?", (order,)).fetchone()
    if row is None:  # never reserved: close the order so that a late reserve holds nothing
        ctx.db.execute("INSERT INTO holds VALUES (?, '', 0, 'released')", (order,))
        return {"done": False}
    if row[0] != "reserved":
        return {"done": False}
    ctx.db.execute("UPDATE holds SET state = 'released' WHERE order_id = ?", (order,))
    return {"done": True}


def announce():
    worker.ready.wait()
    with open(ready_file, "w", encoding="utf-8") as f:
        f.write("ready\n")


signal.signal(signal.SIGTERM, lambda *_: worker.stop())
__import__("threading").Thread(target=announce, daemon=True).start()
worker.run()
