'use strict';
// The Node worker against the live broker (SAGAFLOW_TEST_AMQP_URL) and PostgreSQL
// (SAGAFLOW_TEST_PG_DSN) that tools/test starts: the rules of docs/protocol.md as a saga's
// orchestrator would observe them, and the inbox's promise across crashes.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const amqp = require('amqplib');

const { Worker, BusinessFailure, TechnicalError, SqliteInbox, PostgresInbox, EventPublisher,
  EventNotRouted } = require('sagaflow');
const { workQueueArguments } = require('sagaflow/lib/envelope');
const { counterHandlers } = require('./counter');

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tools/test (it starts the test servers)`);
  return value;
}
const AMQP_URL = requiredEnv('SAGAFLOW_TEST_AMQP_URL');
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Plays the orchestrator's side: publishes commands, reads replies and dead letters. */
class Orchestrator {
  static async open(prefix, service, queueType = 'quorum') {
    const o = new Orchestrator();
    o.prefix = prefix;
    o.service = service;
    o.connection = await amqp.connect(AMQP_URL);
    o.channel = await o.connection.createConfirmChannel();
    const ch = o.channel;
    const p = prefix;
    await ch.assertExchange(`${p}.commands`, 'topic', { durable: true });
    await ch.assertExchange(`${p}.dead`, 'fanout', { durable: true });
    const work = workQueueArguments(p, queueType);
    await ch.assertQueue(`${p}.replies`, { durable: true, arguments: work });
    await ch.assertQueue(`${p}.dead-letters`, { durable: true,
      arguments: { 'x-queue-type': queueType } });
    await ch.bindQueue(`${p}.dead-letters`, `${p}.dead`, '');
    // As the orchestrator does for every service it is configured with (section 2).
    const queue = `${p}.commands.${service}`;
    await ch.assertQueue(queue, { durable: true, arguments: work });
    await ch.bindQueue(queue, `${p}.commands`, service);
    return o;
  }

  async close() {
    for (const q of ['replies', 'dead-letters', `commands.${this.service}`]) {
      await this.channel.deleteQueue(`${this.prefix}.${q}`);
    }
    for (const e of ['commands', 'dead', 'events']) {
      await this.channel.deleteExchange(`${this.prefix}.${e}`);
    }
    await this.connection.close();
  }

  async send(type, payload, messageId, { attempt = 1, replyTo = true, body = null,
    extraHeaders = {} } = {}) {
    const headers = { 'sagaflow-kind': 'command', attempt, flow: 'test', step: 'add',
      'idempotency-key': messageId.split('/').slice(0, -1).join('/'),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', ...extraHeaders };
    const options = { messageId, type, correlationId: 'saga-1', contentType: 'application/json',
      deliveryMode: 2, headers, appId: 'test-orchestrator', mandatory: true };
    if (replyTo) options.replyTo = `${this.prefix}.replies`;
    this.channel.publish(`${this.prefix}.commands`, this.service,
      body === null ? Buffer.from(JSON.stringify(payload)) : body, options);
    await this.channel.waitForConfirms();
  }

  async take(queue, count, timeoutMs = 20000) {
    const out = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < count && Date.now() < deadline) {
      const message = await this.channel.get(queue, { noAck: true });
      if (message === false) await sleep(20);
      else out.push(message);
    }
    assert.equal(out.length, count, `${queue}: ${out.length} of ${count} messages`);
    return out;
  }

  replies(count, timeoutMs) { return this.take(`${this.prefix}.replies`, count, timeoutMs); }

  deadLetters(count) { return this.take(`${this.prefix}.dead-letters`, count); }
}

const json = (message) => JSON.parse(message.content.toString('utf8'));

function contract(name, makeInbox) {
  describe(`a worker with the ${name} inbox`, () => {
    let world;
    before(async () => { world = null; });

    async function setUp() {
      const prefix = `t.node-${crypto.randomBytes(4).toString('hex')}`;
      const orchestrator = await Orchestrator.open(prefix, 'counter');
      const store = await makeInbox();
      const worker = new Worker(AMQP_URL, 'counter', store.inbox, { prefix, log: () => {} });
      counterHandlers(worker, store.placeholder);
      const running = worker.run();
      await worker.ready();
      world = { orchestrator, store, worker, running };
      return world;
    }

    async function tearDown() {
      await world.worker.stop();
      await world.running;
      await world.orchestrator.close();
      await world.store.close();
    }

    test('a reply is addressed to its command as section 5 says', async () => {
      const { orchestrator, store } = await setUp();
      try {
        await orchestrator.send('counter.add', { name: 'a', amount: 5 }, 'saga-1/add/do/1');
        const [reply] = await orchestrator.replies(1);
        const p = reply.properties;
        assert.equal(p.messageId, 'saga-1/add/do/1/reply');
        assert.equal(p.type, 'counter.add');
        assert.equal(p.correlationId, 'saga-1');
        assert.equal(p.contentType, 'application/json');
        assert.equal(p.deliveryMode, 2);
        assert.equal(p.replyTo, undefined);
        assert.equal(p.headers['sagaflow-kind'], 'reply');
        assert.equal(p.headers['causation-id'], 'saga-1/add/do/1');
        assert.equal(p.headers.outcome, 'success');
        assert.equal(p.headers.attempt, 1);
        assert.equal(p.headers['idempotency-key'], 'saga-1/add/do');
        assert.equal(p.headers.flow, 'test');
        assert.equal(p.headers.step, 'add');
        assert.match(p.headers.traceparent, /^00-4bf92f/);
        assert.equal(p.headers['error-code'], undefined);
        assert.deepEqual(json(reply), { added: 5 });
        assert.equal(await store.counter(), 5);
      } finally { await tearDown(); }
    });

    test('a duplicate and a retry are answered from the inbox and applied once', async () => {
      const { orchestrator, store } = await setUp();
      try {
        await orchestrator.send('counter.add', { name: 'a', amount: 7 }, 'saga-1/add/do/1');
        await orchestrator.send('counter.add', { name: 'a', amount: 7 }, 'saga-1/add/do/1');
        await orchestrator.send('counter.add', { name: 'a', amount: 7 }, 'saga-1/add/do/2',
          { attempt: 2 });
        const replies = await orchestrator.replies(3);
        assert.deepEqual(replies.map((r) => r.properties.headers['causation-id']).sort(),
          ['saga-1/add/do/1', 'saga-1/add/do/1', 'saga-1/add/do/2']);
        const retry = replies.find((r) => r.properties.headers.attempt === 2);
        assert.equal(retry.properties.messageId, 'saga-1/add/do/2/reply');
        for (const r of replies) assert.deepEqual(json(r), { added: 7 });
        assert.equal(await store.counter(), 7);
      } finally { await tearDown(); }
    });

    test('a business failure changes nothing and is remembered', async () => {
      const { orchestrator, store } = await setUp();
      try {
        await orchestrator.send('counter.add', { name: 'a', amount: 3, refuse: true },
          'saga-1/add/do/1');
        await orchestrator.send('counter.add', { name: 'a', amount: 3 }, 'saga-1/add/do/2',
          { attempt: 2 });
        for (const r of await orchestrator.replies(2)) {
          assert.equal(r.properties.headers.outcome, 'business_failure');
          assert.equal(r.properties.headers['error-code'], 'Refused');
          assert.deepEqual(json(r), { why: 'asked to' });
        }
        assert.equal(await store.counter(), 0);
      } finally { await tearDown(); }
    });

    test('a technical error is not remembered, so the retry runs again', async () => {
      const { orchestrator, store } = await setUp();
      try {
        await orchestrator.send('counter.add', { name: 'a', amount: 2, break: true },
          'saga-1/add/do/1');
        const [first] = await orchestrator.replies(1);
        assert.equal(first.properties.headers.outcome, 'technical_error');
        assert.equal(first.properties.headers['error-code'], 'DatabaseDown');
        await orchestrator.send('counter.add', { name: 'a', amount: 2 }, 'saga-1/add/do/2',
          { attempt: 2 });
        const [second] = await orchestrator.replies(1);
        assert.equal(second.properties.headers.outcome, 'success');
        assert.equal(await store.counter(), 2);
      } finally { await tearDown(); }
    });

    test('an unknown command is refused and not remembered', async () => {
      const { orchestrator, store } = await setUp();
      try {
        await orchestrator.send('counter.subtract', { name: 'a', amount: 1 }, 'saga-1/sub/do/1');
        const [reply] = await orchestrator.replies(1);
        assert.equal(reply.properties.headers.outcome, 'business_failure');
        assert.equal(reply.properties.headers['error-code'], 'UnknownCommand');
        assert.equal(await store.inbox.find('saga-1/sub/do'), null);
      } finally { await tearDown(); }
    });

    test('a group commits every command but the one that broke', async () => {
      const { orchestrator, store } = await setUp();
      try {
        for (let i = 0; i < 40; i++) {
          await orchestrator.send('counter.add', { name: 'a', amount: 1, crash: i === 17 },
            `saga-${i}/add/do/1`);
        }
        const outcomes = new Map((await orchestrator.replies(40)).map(
          (r) => [r.properties.headers['causation-id'], r.properties.headers.outcome]));
        assert.equal(outcomes.get('saga-17/add/do/1'), 'technical_error');
        outcomes.delete('saga-17/add/do/1');
        assert.deepEqual([...new Set(outcomes.values())], ['success']);
        assert.equal(await store.counter(), 39);
      } finally { await tearDown(); }
    });

    test('undecodable and unanswerable commands are dead-lettered whole', async () => {
      const { orchestrator, store } = await setUp();
      try {
        await orchestrator.send('counter.add', null, 'saga-1/add/do/1',
          { body: Buffer.from('{not json'), extraHeaders: { custom: 'kept' } });
        await orchestrator.send('counter.add', { name: 'a', amount: 1 }, 'saga-2/add/do/1',
          { replyTo: false });
        await orchestrator.send('counter.add', { name: 'a', amount: 1 }, 'saga-3/add/do/1',
          { extraHeaders: { 'sagaflow-kind': 'reply' } });
        await orchestrator.send('counter.add', { name: 'a', amount: 1 }, 'saga-4/add/do/1',
          { extraHeaders: { outcome: 'maybe' } });
        const letters = new Map((await orchestrator.deadLetters(4)).map(
          (m) => [m.properties.messageId, m]));
        assert.deepEqual(Object.fromEntries([...letters].map(
          ([id, m]) => [id, m.properties.headers['x-sagaflow-reason-code']])), {
          'saga-1/add/do/1': 'not_json', 'saga-2/add/do/1': 'no_reply_to',
          'saga-3/add/do/1': 'wrong_kind', 'saga-4/add/do/1': 'malformed_envelope' });
        assert.equal(letters.get('saga-3/add/do/1').properties.headers['x-sagaflow-reason'],
          'a command queue takes only commands, this is a reply');
        assert.equal(letters.get('saga-4/add/do/1').properties.headers['x-sagaflow-reason'],
          "unknown outcome 'maybe'");
        const bad = letters.get('saga-1/add/do/1');
        assert.equal(bad.content.toString(), '{not json');
        assert.match(bad.properties.headers['x-sagaflow-reason'], /^body is not JSON/);
        assert.equal(bad.properties.headers['x-sagaflow-queue'],
          `${orchestrator.prefix}.commands.counter`);
        assert.equal(bad.properties.headers.custom, 'kept');
        assert.equal(bad.properties.appId, 'test-orchestrator');
        assert.equal(bad.properties.type, 'counter.add');
        assert.equal(letters.get('saga-2/add/do/1').properties.headers['x-sagaflow-reason'],
          'command has no reply_to: nowhere to send the reply');
        assert.equal(await store.counter(), 0);
      } finally { await tearDown(); }
    });
  });
}

function sqliteStore() {
  const Database = require('better-sqlite3');
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'sagaflow-node-'));
  const file = path.join(folder, 'service.db');
  const setup = new Database(file);
  setup.exec("CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);" +
    "INSERT INTO counters VALUES ('a', 0)");
  setup.close();
  const inbox = new SqliteInbox(file, { scope: 'counter' });
  return {
    inbox,
    file,
    placeholder: 'sqlite',
    counter: async () => inbox.db.prepare("SELECT n FROM counters WHERE name = 'a'").get().n,
    close: async () => { await inbox.close(); fs.rmSync(folder, { recursive: true }); },
  };
}

async function postgresStore() {
  const { Client } = require('pg');
  const dsn = requiredEnv('SAGAFLOW_TEST_PG_DSN');
  const config = Object.fromEntries(dsn.split(/\s+/).map((pair) => pair.split('=')));
  const schema = `node_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client(config);
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.counters (name TEXT PRIMARY KEY, n BIGINT)`);
  await admin.query(`INSERT INTO ${schema}.counters VALUES ('a', 0)`);
  const inbox = new PostgresInbox({ ...config, options: `-c search_path=${schema}` },
    { scope: 'counter' });
  return {
    inbox,
    placeholder: 'pg',
    counter: async () => Number((await admin.query(
      `SELECT n FROM ${schema}.counters WHERE name = 'a'`)).rows[0].n),
    close: async () => {
      await inbox.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

contract('SQLite', sqliteStore);
contract('PostgreSQL', postgresStore);

describe('a worker killed at each point of a group', () => {
  const POINTS = ['handled', 'released', 'committed', 'before_publish'];
  const RUNS = 3;
  for (const point of POINTS) {
    test(`applies each effect once when killed at ${point}, ${RUNS} runs`, async () => {
      for (let run = 0; run < RUNS; run++) {
        const prefix = `t.node-crash-${crypto.randomBytes(4).toString('hex')}`;
        const orchestrator = await Orchestrator.open(prefix, 'counter');
        const store = sqliteStore();
        const start = (faultPoint) => spawn(process.execPath,
          [path.join(__dirname, 'crashing_worker.js'), AMQP_URL, prefix, store.file, faultPoint],
          { stdio: ['ignore', 'ignore', 'inherit'] });
        try {
          const commands = 10;
          const crashing = start(point);
          const died = new Promise((resolve) => {
            crashing.on('exit', (code, signal) => resolve(signal === 'SIGKILL' ? 9 : code));
          });
          for (let i = 0; i < commands; i++) {
            await orchestrator.send('counter.add', { name: 'a', amount: 1 }, `saga-${i}/add/do/1`);
          }
          assert.equal(await Promise.race([died, sleep(20000).then(() => 'alive')]), 9,
            `the worker did not die at ${point}`);
          const survivor = start('');
          let replies;
          try {
            replies = await orchestrator.replies(commands, 30000);
          } finally { survivor.kill('SIGKILL'); }
          assert.equal(new Set(replies.map((r) => r.properties.headers['causation-id'])).size,
            commands);
          for (const r of replies) assert.equal(r.properties.headers.outcome, 'success');
          assert.equal(await store.counter(), commands);
          assert.equal(store.inbox.db.prepare('SELECT count(*) AS n FROM sagaflow_inbox').get().n,
            commands);
        } finally {
          await orchestrator.close();
          await store.close();
        }
      }
    });
  }
});

// Section 2, classic queues: the worker counts each command's returns on the message.
test('on classic queues a returned command is counted and past the limit dead-lettered',
  async () => {
    const prefix = `t.node-classic-${crypto.randomBytes(4).toString('hex')}`;
    const queue = `${prefix}.commands.counter`;
    const orchestrator = await Orchestrator.open(prefix, 'counter', 'classic');
    const store = sqliteStore();
    let worker;
    let running;
    try {
      await orchestrator.send('counter.add', { name: 'a', amount: 5 }, 'saga-1/add/do/1');
      await orchestrator.send('counter.add', { name: 'a', amount: 100 }, 'saga-2/add/do/1',
        { extraHeaders: { 'x-sagaflow-returns': 3 } });
      // A consumer takes both and gives them back, as a crashed worker's connection would.
      const taken = [await orchestrator.channel.get(queue, { noAck: false }),
        await orchestrator.channel.get(queue, { noAck: false })];
      assert.ok(taken.every((message) => message));
      for (const message of taken) orchestrator.channel.nack(message, false, true);
      assert.throws(() => new Worker(AMQP_URL, 'counter', store.inbox,
        { prefix, queueType: 'lazy' }), /quorum or classic/);
      worker = new Worker(AMQP_URL, 'counter', store.inbox,
        { prefix, queueType: 'classic', log: () => {} });
      counterHandlers(worker, store.placeholder);
      running = worker.run();
      const [reply] = await orchestrator.replies(1);
      assert.equal(reply.properties.headers['causation-id'], 'saga-1/add/do/1');
      assert.equal(reply.properties.headers['x-sagaflow-returns'], undefined);
      assert.deepEqual(json(reply), { added: 5 });
      const [letter] = await orchestrator.deadLetters(1);
      assert.equal(letter.properties.messageId, 'saga-2/add/do/1');
      assert.equal(letter.properties.headers['x-sagaflow-reason-code'], 'delivery_limit');
      assert.equal(letter.properties.headers['x-sagaflow-reason'],
        `returned 4 times to '${queue}', over the delivery limit of 3`);
      assert.deepEqual(json(letter), { name: 'a', amount: 100 });
      // Both originals are acknowledged: the queue is empty, the copy answered once.
      const deadline = Date.now() + 10000;
      while ((await orchestrator.channel.checkQueue(queue)).messageCount > 0 &&
        Date.now() < deadline) await sleep(50);
      assert.equal((await orchestrator.channel.checkQueue(queue)).messageCount, 0);
      await sleep(1000);
      assert.equal(await orchestrator.channel.get(`${prefix}.replies`, { noAck: true }), false);
      assert.equal(await store.counter(), 5);
    } finally {
      if (worker) {
        await worker.stop();
        await running;
      }
      await orchestrator.close();
      await store.close();
    }
  });

test('an event is confirmed with its envelope and an unbound type is an error', async () => {
  const prefix = `t.node-events-${crypto.randomBytes(4).toString('hex')}`;
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.assertExchange(`${prefix}.events`, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, `${prefix}.events`, 'payment.succeeded');
  const publisher = new EventPublisher(AMQP_URL, { prefix });
  try {
    await publisher.publish('payment.succeeded', { payment_id: 'pay-42' },
      'payment.succeeded/pay-42');
    const message = await channel.get(queue, { noAck: true });
    assert.ok(message);
    assert.equal(message.properties.messageId, 'payment.succeeded/pay-42');
    assert.equal(message.properties.type, 'payment.succeeded');
    assert.equal(message.properties.deliveryMode, 2);
    assert.equal(message.properties.contentType, 'application/json');
    assert.deepEqual(message.properties.headers, { 'sagaflow-kind': 'event' });
    assert.deepEqual(json(message), { payment_id: 'pay-42' });
    await assert.rejects(publisher.publish('payment.nobody', {}, 'payment.nobody/1'),
      EventNotRouted);
  } finally {
    await publisher.close();
    await channel.deleteExchange(`${prefix}.events`);
    await connection.close();
  }
});
