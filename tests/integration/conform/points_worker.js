// A points service on the sagaflow package (clients/node) for `sagactl conform`: the same rules
// as examples/python_worker/points_worker.py (reserve and release).
// Usage: node points_worker.js AMQP_URL PREFIX DB_FILE READY_FILE
const fs = require('fs');
const { Worker, SqliteInbox, BusinessFailure } = require('sagaflow');

const [url, prefix, dbFile, readyFile] = process.argv.slice(2);
const worker = new Worker(url, 'points', new SqliteInbox(dbFile, { scope: 'points' }), { prefix });

function field(payload, name, type) {
  const value = payload[name];
  const ok = type === 'integer' ? Number.isInteger(value) : typeof value === type;
  if (!ok) throw new BusinessFailure('MalformedPayload', { error: `'${name}' must be a ${type}` });
  return value;
}

function holds(db) {
  db.prepare('CREATE TABLE IF NOT EXISTS holds (order_id TEXT PRIMARY KEY, user_id TEXT,' +
    ' amount INTEGER, state TEXT)').run();
}

worker.handle('points.reserve', async (ctx, payload) => {
  const user = field(payload, 'user_id', 'string');
  const amount = field(payload, 'amount', 'integer');
  const order = field(payload, 'order_id', 'string');
  holds(ctx.db);
  const row = ctx.db.prepare('SELECT state FROM holds WHERE order_id = ?').get(order);
  if (row) throw new BusinessFailure(row.state === 'released' ? 'HoldReleased' : 'ReferenceReused');
  ctx.db.prepare("INSERT INTO holds VALUES (?, ?, ?, 'reserved')").run(order, user, amount);
  return { reservation_id: `res-${order}` };
});

worker.handle('points.release', async (ctx, payload) => {
  const order = field(payload, 'order_id', 'string');
  holds(ctx.db);
  const row = ctx.db.prepare('SELECT state FROM holds WHERE order_id = ?').get(order);
  if (!row) { // never reserved: close the order so that a late reserve holds nothing
    ctx.db.prepare("INSERT INTO holds VALUES (?, '', 0, 'released')").run(order);
    return { done: false };
  }
  if (row.state !== 'reserved') return { done: false };
  ctx.db.prepare("UPDATE holds SET state = 'released' WHERE order_id = ?").run(order);
  return { done: true };
});

process.on('SIGTERM', () => worker.stop());
worker.ready().then(() => fs.writeFileSync(readyFile, 'ready\n'));
worker.run();
