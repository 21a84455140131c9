'use strict';
// A transactional inbox: the handler's writes, the command's idempotency key and the reply it is
// answered with commit in one transaction of the service's own database (docs/protocol.md
// section 6). The schema is the C++ worker library's and the Python package's, so a service may
// move between languages without forgetting what it applied:
//
//   sagaflow_inbox(scope, idempotency_key, command_id, command_type, outcome, error_code, body,
//                  applied_at)  PRIMARY KEY (scope, idempotency_key)
//   sagaflow_inbox_schema(version)
//
// Both are created on first use; migrations are numbered and never edited once released.

const MIGRATIONS = [
  [
    `CREATE TABLE sagaflow_inbox (
  scope           TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  command_id      TEXT NOT NULL,
  command_type    TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  error_code      TEXT NOT NULL,
  body            TEXT NOT NULL,
  applied_at      BIGINT NOT NULL,
  PRIMARY KEY (scope, idempotency_key)
)`,
    'CREATE INDEX sagaflow_inbox_applied_at ON sagaflow_inbox (applied_at)',
  ],
];

const SELECT = 'SELECT outcome, error_code, body FROM sagaflow_inbox ' +
  'WHERE scope = $1 AND idempotency_key = $2';
const INSERT = 'INSERT INTO sagaflow_inbox (scope, idempotency_key, command_id, command_type, ' +
  'outcome, error_code, body, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ' +
  'ON CONFLICT DO NOTHING RETURNING idempotency_key';

/**
 * The rule, over a database session `db` with `query(sql, params) -> rows` (arrays), inside an
 * open transaction. `run(command)` returns {reply, remember}; only a success keeps the
 * command's writes. Returns one reply per command.
 */
async function applyGroup(db, scope, commands, run, fault) {
  const replies = [];
  for (const command of commands) {
    const rows = await db.query(SELECT, [scope, command.key]);
    if (rows.length > 0) {
      replies.push({ outcome: rows[0][0], errorCode: rows[0][1], body: rows[0][2] });
      continue;
    }
    await db.query('SAVEPOINT sagaflow_command');
    let { reply, remember } = await run(command);
    await fault('handled');
    // A refused or broken command leaves nothing behind.
    if (reply.outcome !== 'success') await db.query('ROLLBACK TO SAVEPOINT sagaflow_command');
    if (remember) {
      const inserted = await db.query(INSERT, [scope, command.key, command.messageId,
        command.type, reply.outcome, reply.errorCode, reply.body, Date.now()]);
      if (inserted.length === 0) {
        // Another process applied the key meanwhile: its effect stands.
        await db.query('ROLLBACK TO SAVEPOINT sagaflow_command');
        const [row] = await db.query(SELECT, [scope, command.key]);
        reply = { outcome: row[0], errorCode: row[1], body: row[2] };
      }
    }
    await db.query('RELEASE SAVEPOINT sagaflow_command');
    await fault('released');
    replies.push(reply);
  }
  return replies;
}

async function migrate(db, lockSchema) {
  await lockSchema();
  await db.query('CREATE TABLE IF NOT EXISTS sagaflow_inbox_schema (version INTEGER NOT NULL)');
  const [[version]] = await db.query('SELECT COALESCE(MAX(version), 0) FROM sagaflow_inbox_schema');
  if (Number(version) > MIGRATIONS.length) {
    throw new Error(`sagaflow_inbox: the database's schema version ${version} is newer than ` +
      `this library's (${MIGRATIONS.length})`);
  }
  for (let v = Number(version); v < MIGRATIONS.length; v++) {
    for (const statement of MIGRATIONS[v]) await db.query(statement);
    await db.query('INSERT INTO sagaflow_inbox_schema (version) VALUES ($1)', [v + 1]);
  }
}

const noFault = async () => {};

/** The inbox in a SQLite file (better-sqlite3, WAL). Handlers get the Database as ctx.db. */
class SqliteInbox {
  constructor(path, { scope = '' } = {}) {
    // eslint-disable-next-line global-require
    const Database = require('better-sqlite3');
    this.scope = scope;
    this.database = new Database(path, { timeout: 30000 });
    this.database.pragma('journal_mode = WAL');
    this.database.pragma('synchronous = FULL');
    this.migrated = false;
    const database = this.database;
    // $1, $2 ... (always in order, each once) as ?; rows as arrays.
    this.session = {
      query: async (sql, params = []) => {
        const statement = database.prepare(sql.replace(/\$\d+/g, '?'));
        if (!statement.reader) {
          statement.run(...params);
          return [];
        }
        return statement.raw(true).all(...params);
      },
    };
  }

  get db() { return this.database; }

  async apply(commands, run, fault = noFault) {
    // IMMEDIATE: the write lock first, so two processes never both read a key as new.
    this.database.exec('BEGIN IMMEDIATE');
    try {
      if (!this.migrated) await migrate(this.session, async () => {});
      const replies = await applyGroup(this.session, this.scope, commands, run, fault);
      this.database.exec('COMMIT');
      this.migrated = true;
      await fault('committed');
      return replies;
    } catch (error) {
      if (this.database.inTransaction) this.database.exec('ROLLBACK');
      throw error;
    }
  }

  async find(key) {
    if (!this.migrated) await this.apply([], async () => ({}));
    const rows = await this.session.query(SELECT, [this.scope, key]);
    return rows.length ? { outcome: rows[0][0], errorCode: rows[0][1], body: rows[0][2] } : null;
  }

  async close() { this.database.close(); }
}

/** The inbox in PostgreSQL (pg). Handlers get the pg Client, inside the transaction, as ctx.db. */
class PostgresInbox {
  constructor(config, { scope = '' } = {}) {
    // eslint-disable-next-line global-require
    const { Client } = require('pg');
    this.Client = Client;
    this.config = config;
    this.scope = scope;
    this.client = null;
    this.migrated = false;
  }

  get db() { return this.client; }

  async connect() {
    if (this.client) return this.client;
    const client = new this.Client(this.config);
    client.on('error', () => { if (this.client === client) this.client = null; });
    await client.connect();
    this.client = client;
    return client;
  }

  async apply(commands, run, fault = noFault) {
    const client = await this.connect();
    const session = {
      query: async (sql, params = []) => (await client.query({ text: sql, values: params,
        rowMode: 'array' })).rows,
    };
    await client.query('BEGIN');
    try {
      if (!this.migrated) {
        await migrate(session, () => client.query(
          "SELECT pg_advisory_xact_lock(hashtext('sagaflow_inbox_schema'))"));
      }
      const replies = await applyGroup(session, this.scope, commands, run, fault);
      await client.query('COMMIT');
      this.migrated = true;
      await fault('committed');
      return replies;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (ignored) {
        this.client = null; // the connection is gone: the transaction went with it
        client.end().catch(() => {});
      }
      throw error;
    }
  }

  async find(key) {
    if (!this.migrated) await this.apply([], async () => ({}));
    const client = await this.connect();
    const { rows } = await client.query({ text: SELECT, values: [this.scope, key],
      rowMode: 'array' });
    return rows.length ? { outcome: rows[0][0], errorCode: rows[0][1], body: rows[0][2] } : null;
  }

  async close() {
    if (this.client) await this.client.end();
    this.client = null;
  }
}

module.exports = { SqliteInbox, PostgresInbox };
