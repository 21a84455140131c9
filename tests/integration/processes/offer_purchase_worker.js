'use strict';
// The services of offer_purchase in Node.js, on the sagaflow package (clients/node): offers
// (create_order, cancel_order, fulfil) and points (reserve, release, debit, refund), each a
// Worker with a PostgresInbox in a schema of its own of the test PostgreSQL. Their rules are
// those of the C++ participants (sagas/src/offers.cpp, sagas/src/points.cpp), as far as
// offer_purchase needs them, seeded as sagas/src/demo_data.cpp seeds them for this flow.
//
//   node offer_purchase_worker.js serve AMQP_URL PREFIX SCHEMA READY_FILE   serves until SIGTERM
//   node offer_purchase_worker.js report SCHEMA     prints the state as JSON, then drops the schemas
// The database: the libpq keywords of SAGAFLOW_TEST_PG_DSN (host=... port=... dbname=... user=...).
const fs = require('fs');
const { Client } = require('pg');
const { Worker, PostgresInbox, BusinessFailure } = require('sagaflow');

const SCHEMA = {
  offers: [
    `CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE,
       user_id TEXT NOT NULL, offer_id TEXT NOT NULL, price INTEGER NOT NULL, status TEXT NOT NULL)`,
    // References cancelled before any order was made: a create_order arriving later makes none.
    'CREATE TABLE IF NOT EXISTS cancelled_unmade (reference TEXT PRIMARY KEY)',
    'CREATE TABLE IF NOT EXISTS sold_out (offer_id TEXT PRIMARY KEY)',
    `CREATE TABLE IF NOT EXISTS ledger (seq SERIAL PRIMARY KEY, idempotency_key TEXT NOT NULL,
       kind TEXT NOT NULL, subject TEXT NOT NULL)`,
    "INSERT INTO sold_out VALUES ('concert') ON CONFLICT DO NOTHING",
  ],
  points: [
    `CREATE TABLE IF NOT EXISTS accounts (user_id TEXT PRIMARY KEY, initial INTEGER NOT NULL,
       balance INTEGER NOT NULL, reserved INTEGER NOT NULL DEFAULT 0,
       spent INTEGER NOT NULL DEFAULT 0, refunded INTEGER NOT NULL DEFAULT 0)`,
    `CREATE TABLE IF NOT EXISTS reservations (reservation_id TEXT PRIMARY KEY,
       order_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, amount INTEGER NOT NULL,
       state TEXT NOT NULL)`,
    // Orders released before any hold was made: a reserve arriving later holds nothing.
    'CREATE TABLE IF NOT EXISTS released_unheld (order_id TEXT PRIMARY KEY)',
    `CREATE TABLE IF NOT EXISTS ledger (seq SERIAL PRIMARY KEY, idempotency_key TEXT NOT NULL,
       kind TEXT NOT NULL, subject TEXT NOT NULL)`,
    `INSERT INTO accounts (user_id, initial, balance) VALUES ('alice', 1000, 1000),
       ('bob', 100, 100), ('carol', 1000, 1000) ON CONFLICT DO NOTHING`,
  ],
};

function pgConfig(schema) {
  const keywords = Object.fromEntries((process.env.SAGAFLOW_TEST_PG_DSN || '').split(/\s+/)
    .filter(Boolean).map((pair) => pair.split('=')));
  return { host: keywords.host, port: Number(keywords.port || 5432), database: keywords.dbname,
    user: keywords.user, password: keywords.password,
    options: schema ? `-c search_path=${schema}` : undefined };
}

function field(payload, name, type) {
  const value = payload[name] === undefined ? (type === 'string' ? '' : 0) : payload[name];
  const ok = type === 'integer' ? Number.isInteger(value) : typeof value === type;
  if (!ok) throw new BusinessFailure('MalformedPayload', { error: `'${name}' must be a ${type}` });
  return value;
}

async function one(db, sql, values) {
  return (await db.query(sql, values)).rows[0];
}

async function record(ctx, kind, subject) {
  await ctx.db.query('INSERT INTO ledger (idempotency_key, kind, subject) VALUES ($1, $2, $3)',
    [ctx.command.key, kind, subject]);
}

function serveOffers(worker) {
  worker.handle('offers.create_order', async (ctx, payload) => {
    const reference = field(payload, 'reference', 'string');
    const user = field(payload, 'user_id', 'string');
    const offer = field(payload, 'offer_id', 'string');
    const price = field(payload, 'price', 'integer');
    if (!reference) throw new BusinessFailure('MissingReference');
    if (price <= 0) throw new BusinessFailure('InvalidPrice');
    if (await one(ctx.db, 'SELECT 1 FROM cancelled_unmade WHERE reference = $1', [reference])) {
      throw new BusinessFailure('OrderCancelled');
    }
    // The same reference ordered again (a resend under another key) is the same order.
    const known = await one(ctx.db, 'SELECT * FROM orders WHERE reference = $1', [reference]);
    if (known) {
      if (known.user_id !== user || known.offer_id !== offer || known.price !== price) {
        throw new BusinessFailure('ReferenceReused');
      }
      if (known.status === 'cancelled') throw new BusinessFailure('OrderCancelled');
      return { order_id: known.order_id, status: known.status };
    }
    const { n } = await one(ctx.db, 'SELECT COUNT(*)::int + 1 AS n FROM orders');
    const id = `ord-${n}`;
    await ctx.db.query("INSERT INTO orders VALUES ($1, $2, $3, $4, $5, 'pending')",
      [id, reference, user, offer, price]);
    await record(ctx, 'create', id);
    return { order_id: id, status: 'pending' };
  });

  // Cancelling nothing (no order under the reference, or one no longer pending) succeeds with
  // done=false; the first case also closes the reference.
  worker.handle('offers.cancel_order', async (ctx, payload) => {
    const reference = field(payload, 'reference', 'string');
    const order = await one(ctx.db, 'SELECT * FROM orders WHERE reference = $1', [reference]);
    if (!order) {
      if (reference) await ctx.db.query('INSERT INTO cancelled_unmade VALUES ($1)', [reference]);
      return { order_id: '', status: 'unknown', done: false };
    }
    if (order.status !== 'pending') {
      return { order_id: order.order_id, status: order.status, done: false };
    }
    await ctx.db.query("UPDATE orders SET status = 'cancelled' WHERE order_id = $1",
      [order.order_id]);
    await record(ctx, 'cancel', order.order_id);
    return { order_id: order.order_id, status: 'cancelled', done: true };
  });

  worker.handle('offers.fulfil', async (ctx, payload) => {
    const id = field(payload, 'order_id', 'string');
    const order = await one(ctx.db, 'SELECT * FROM orders WHERE order_id = $1', [id]);
    if (!order) throw new BusinessFailure('UnknownOrder');
    if (await one(ctx.db, 'SELECT 1 FROM sold_out WHERE offer_id = $1', [order.offer_id])) {
      throw new BusinessFailure('OfferSoldOut');
    }
    if (order.status !== 'pending') throw new BusinessFailure('OrderNotPending');
    await ctx.db.query("UPDATE orders SET status = 'bought' WHERE order_id = $1", [id]);
    await record(ctx, 'fulfil', id);
    return { order_id: id, status: 'bought' };
  });
}

function servePoints(worker) {
  worker.handle('points.reserve', async (ctx, payload) => {
    const user = field(payload, 'user_id', 'string');
    const amount = field(payload, 'amount', 'integer');
    const order = field(payload, 'order_id', 'string');
    if (amount <= 0) throw new BusinessFailure('InvalidAmount');
    if (!order) throw new BusinessFailure('MissingReference');
    if (await one(ctx.db, 'SELECT 1 FROM released_unheld WHERE order_id = $1', [order])) {
      throw new BusinessFailure('HoldReleased');
    }
    // The same order reserved again (a resend under another key) is the same hold.
    const hold = await one(ctx.db, 'SELECT * FROM reservations WHERE order_id = $1', [order]);
    if (hold) {
      if (hold.user_id !== user || hold.amount !== amount) {
        throw new BusinessFailure('ReferenceReused');
      }
      if (hold.state === 'released') throw new BusinessFailure('HoldReleased');
      return { reservation_id: hold.reservation_id };
    }
    const account = await one(ctx.db, 'SELECT balance FROM accounts WHERE user_id = $1', [user]);
    if (!account) throw new BusinessFailure('UnknownUser');
    if (account.balance < amount) throw new BusinessFailure('InsufficientPoints');
    const { n } = await one(ctx.db, 'SELECT COUNT(*)::int + 1 AS n FROM reservations');
    const id = `res-${n}`;
    await ctx.db.query('UPDATE accounts SET balance = balance - $1, reserved = reserved + $1 ' +
      'WHERE user_id = $2', [amount, user]);
    await ctx.db.query("INSERT INTO reservations VALUES ($1, $2, $3, $4, 'reserved')",
      [id, order, user, amount]);
    await record(ctx, 'reserve', id);
    return { reservation_id: id };
  });

  // Releasing when no hold was made for the order, or one no longer reserved, succeeds with
  // done=false; the first case also closes the order.
  worker.handle('points.release', async (ctx, payload) => {
    const order = field(payload, 'order_id', 'string');
    const hold = await one(ctx.db, 'SELECT * FROM reservations WHERE order_id = $1', [order]);
    if (!hold) {
      if (order) await ctx.db.query('INSERT INTO released_unheld VALUES ($1)', [order]);
      return { done: false };
    }
    if (hold.state !== 'reserved') return { done: false };
    await ctx.db.query('UPDATE accounts SET balance = balance + $1, reserved = reserved - $1 ' +
      'WHERE user_id = $2', [hold.amount, hold.user_id]);
    await ctx.db.query("UPDATE reservations SET state = 'released' WHERE reservation_id = $1",
      [hold.reservation_id]);
    await record(ctx, 'release', hold.reservation_id);
    return { done: true };
  });

  worker.handle('points.debit', async (ctx, payload) => {
    const id = field(payload, 'reservation_id', 'string');
    const hold = await one(ctx.db, 'SELECT * FROM reservations WHERE reservation_id = $1', [id]);
    if (!hold) throw new BusinessFailure('UnknownReservation');
    if (hold.state !== 'reserved') throw new BusinessFailure('NotReserved');
    await ctx.db.query('UPDATE accounts SET reserved = reserved - $1, spent = spent + $1 ' +
      'WHERE user_id = $2', [hold.amount, hold.user_id]);
    await ctx.db.query("UPDATE reservations SET state = 'debited' WHERE reservation_id = $1", [id]);
    await record(ctx, 'debit', id);
    return { amount: hold.amount };
  });

  // Refunding a reservation that was not debited (or was refunded) succeeds with done=false.
  worker.handle('points.refund', async (ctx, payload) => {
    const id = field(payload, 'reservation_id', 'string');
    const hold = await one(ctx.db, 'SELECT * FROM reservations WHERE reservation_id = $1', [id]);
    if (!hold || hold.state !== 'debited') return { done: false };
    await ctx.db.query('UPDATE accounts SET balance = balance + $1, refunded = refunded + $1 ' +
      'WHERE user_id = $2', [hold.amount, hold.user_id]);
    await ctx.db.query("UPDATE reservations SET state = 'refunded' WHERE reservation_id = $1",
      [id]);
    await record(ctx, 'refund', id);
    return { done: true };
  });
}

const SERVICES = { offers: serveOffers, points: servePoints };

async function serve(url, prefix, schema, readyFile) {
  const workers = [];
  const inboxes = [];
  for (const [service, register] of Object.entries(SERVICES)) {
    const setup = new Client(pgConfig());
    await setup.connect();
    await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}_${service}`);
    await setup.query(`SET search_path = ${schema}_${service}`);
    for (const statement of SCHEMA[service]) await setup.query(statement);
    await setup.end();
    const inbox = new PostgresInbox(pgConfig(`${schema}_${service}`), { scope: service });
    inboxes.push(inbox);
    const worker = new Worker(url, service, inbox, { prefix });
    register(worker);
    workers.push(worker);
  }
  process.on('SIGTERM', () => workers.forEach((w) => w.stop()));
  const running = workers.map((w) => w.run());
  await Promise.all(workers.map((w) => w.ready()));
  fs.writeFileSync(readyFile, 'ready\n');
  await Promise.all(running);
  // The inboxes' connections would keep the process alive.
  await Promise.all(inboxes.map((inbox) => inbox.close()));
}

// Each service's tables, its ledger, and how many idempotency keys it applied twice.
async function report(schema) {
  const db = new Client(pgConfig());
  await db.connect();
  const out = {};
  for (const [service, tables] of [['offers', ['orders']], ['points', ['accounts', 'reservations']]]) {
    const state = {};
    for (const table of tables) {
      state[table] = (await db.query(`SELECT * FROM ${schema}_${service}.${table} ORDER BY 1`)).rows;
    }
    state.applied = (await one(db, `SELECT COUNT(*)::int AS n FROM ${schema}_${service}.ledger`)).n;
    state.repeated = (await one(db, 'SELECT COUNT(*)::int AS n FROM (SELECT idempotency_key ' +
      `FROM ${schema}_${service}.ledger GROUP BY idempotency_key HAVING COUNT(*) > 1) AS twice`)).n;
    out[service] = state;
    await db.query(`DROP SCHEMA ${schema}_${service} CASCADE`);
  }
  await db.end();
  process.stdout.write(JSON.stringify(out));
}

const [mode, ...args] = process.argv.slice(2);
(mode === 'serve' ? serve(...args) : report(...args)).catch((error) => {
  console.error(`offer_purchase_worker: ${error.stack || error}`);
  process.exit(1);
});
