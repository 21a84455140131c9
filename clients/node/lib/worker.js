'use strict';
// A Sagaflow worker on RabbitMQ: handlers per command type, the inbox for idempotency, and the
// acknowledgement rule of docs/protocol.md (section numbers below refer to it).
//
// Deliveries are taken in groups: every command the broker has handed over (up to batchSize) is
// applied in one transaction of the inbox's database, each in its own savepoint; then all the
// replies are published and each command is acknowledged when its reply is confirmed. Confirms
// are awaited together, never one wait per reply.

const amqp = require('amqplib');
const envelope = require('./envelope');
const { backoffDelays, printable } = require('./util');

/** A business rule refused the command (section 5): never retried; nothing may change. */
class BusinessFailure extends Error {
  constructor(code, details = {}) {
    super(code);
    this.code = code;
    this.details = details;
  }
}

/** Something broke (section 5): retried by the step's policy; nothing may change. */
class TechnicalError extends Error {
  constructor(code, details = {}) {
    super(code);
    this.code = code;
    this.details = details;
  }
}

class Worker {
  /**
   * new Worker(url, 'points', inbox, {prefix, prefetch, batchSize, maxMessageBytes,
   *   reconnectMin, reconnectMax, fault, log, queueType})
   */
  constructor(url, service, inbox, options = {}) {
    this.queueType = options.queueType || 'quorum'; // as the whole deployment's (section 2)
    if (!envelope.QUEUE_TYPES.includes(this.queueType)) {
      throw new Error(`queueType is quorum or classic, not '${printable(this.queueType)}'`);
    }
    this.url = url;
    this.service = service;
    this.inbox = inbox;
    this.prefix = options.prefix || 'sagaflow';
    this.prefetch = options.prefetch || 128;
    this.batchSize = options.batchSize || 64;
    this.maxMessageBytes = options.maxMessageBytes || envelope.MAX_MESSAGE_BYTES;
    this.reconnectMin = options.reconnectMin || 100;
    this.reconnectMax = options.reconnectMax || 10000;
    this.fault = options.fault || (async () => {});
    this.log = options.log || ((level, text) => console.error(`sagaflow worker ${level}: ${text}`));
    this.handlers = new Map();
    this.stopping = false;
    this.connection = null;
    this.channel = null;
    this.pending = [];
    this.scheduled = false;
    this.chain = Promise.resolve();
    this.returned = new Map();
    // Classic queues: message id -> {returns not yet confirmed, deliveries held back}.
    this.held = new Map();
    this.onReady = null;
  }

  get queue() { return `${this.prefix}.commands.${this.service}`; }

  /** handler(ctx, payload) serves commandType ('points.reserve'); may be async. */
  handle(commandType, handler) {
    this.handlers.set(commandType, handler);
    return this;
  }

  /** Connects, serves, reconnects with jittered backoff; resolves after stop(). */
  async run() {
    let delays = backoffDelays(this.reconnectMin, this.reconnectMax);
    while (!this.stopping) {
      const served = await this.serveOnce();
      if (this.stopping) break;
      if (served) delays = backoffDelays(this.reconnectMin, this.reconnectMax);
      const wait = delays.next().value;
      this.log('warn', `broker connection lost; reconnecting in ${wait} ms`);
      await new Promise((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, wait);
      });
    }
  }

  /** Resolves when consuming (for tests and readiness probes). */
  ready() {
    if (this.channel && this.consuming) return Promise.resolve();
    return new Promise((resolve) => { this.onReady = resolve; });
  }

  /** Stops consuming; commands not yet acknowledged go back to the queue. */
  async stop() {
    this.stopping = true;
    if (this.wake) this.wake();
    const connection = this.connection;
    if (connection) await connection.close().catch(() => {});
  }

  async serveOnce() {
    let connection;
    try {
      connection = await amqp.connect(this.url, { heartbeat: 10 });
    } catch (error) {
      this.log('warn', `cannot reach the broker: ${printable(error.message)}`);
      return false;
    }
    this.connection = connection;
    const closed = new Promise((resolve) => {
      connection.on('close', resolve);
      connection.on('error', () => {});
    });
    try {
      const channel = await connection.createConfirmChannel();
      this.channel = channel;
      this.pending = [];
      this.returned = new Map();
      this.held = new Map();
      channel.on('return', (message) => {
        this.returned.set(message.properties.messageId,
          `${message.fields.replyCode} ${message.fields.replyText}`);
      });
      channel.on('error', () => {});
      await this.declare(channel);
      await channel.prefetch(this.prefetch);
      await channel.consume(this.queue, (message) => this.onMessage(message), { noAck: false });
      this.consuming = true;
      this.log('info', `serving ${this.queue}`);
      if (this.onReady) this.onReady();
      if (this.stopping) await connection.close().catch(() => {});
    } catch (error) {
      this.log('warn', `broker session failed: ${printable(error.message)}`);
      await connection.close().catch(() => {});
      this.consuming = false;
      this.connection = null;
      return false;
    }
    await closed;
    this.consuming = false;
    this.connection = null;
    this.channel = null;
    return true;
  }

  /** Section 2: what a worker declares, with exactly the orchestrator's arguments. */
  async declare(ch) {
    const p = this.prefix;
    const work = envelope.workQueueArguments(p, this.queueType);
    await ch.assertExchange(`${p}.commands`, 'topic', { durable: true });
    await ch.assertExchange(`${p}.events`, 'topic', { durable: true });
    await ch.assertExchange(`${p}.dead`, 'fanout', { durable: true });
    await ch.assertQueue(this.queue, { durable: true, arguments: work });
    await ch.bindQueue(this.queue, `${p}.commands`, this.service);
    await ch.assertQueue(`${p}.replies`, { durable: true, arguments: work });
    await ch.assertQueue(`${p}.dead-letters`, { durable: true,
      arguments: { 'x-queue-type': this.queueType } });
    await ch.bindQueue(`${p}.dead-letters`, `${p}.dead`, '');
  }

  onMessage(message) {
    if (message === null) return; // the broker cancelled the consumer
    if (this.queueType === 'classic' && message.fields.redelivered) {
      this.countReturn(this.channel, message);
      return;
    }
    const held = this.held.get(message.properties.messageId || '');
    if (held) {
      held.deliveries.push(message);
      return;
    }
    this.accept(message);
  }

  /**
   * Section 2, classic queues: the broker counts no deliveries, so a returned command is
   * published back with its returns counted, or dead-lettered past the limit. Its copy is held
   * back until the original is acknowledged: a crash in the copy's handler must not bring back
   * both.
   */
  countReturn(channel, message) {
    const returns = envelope.returnsCounted(message.properties) + 1;
    if (returns > envelope.DELIVERY_LIMIT) {
      this.deadLetter(channel, message, `returned ${returns} times to '${this.queue}', over ` +
        `the delivery limit of ${envelope.DELIVERY_LIMIT}`, 'delivery_limit');
      return;
    }
    const id = message.properties.messageId || '';
    this.log('warn', `message ${printable(id)} came back to ${this.queue}: return ${returns} ` +
      `of at most ${envelope.DELIVERY_LIMIT}`);
    if (!this.held.has(id)) this.held.set(id, { returns: 0, deliveries: [] });
    this.held.get(id).returns += 1;
    channel.publish('', this.queue, message.content,
      envelope.returnedOptions(message.properties, returns), (error) => {
        if (channel !== this.channel) return; // the connection dropped: both come back
        const returned = this.returned.get(id);
        this.returned.delete(id);
        if (error || returned) this.accept(message); // refused: handled as it is
        else channel.ack(message);
        const held = this.held.get(id);
        if (!held || --held.returns > 0) return;
        this.held.delete(id);
        for (const copy of held.deliveries) this.accept(copy);
      });
  }

  accept(message) {
    this.pending.push(message);
    if (this.pending.length >= this.batchSize) {
      this.flush();
    } else if (!this.scheduled) {
      // After the deliveries already read: they join this group.
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush() {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const channel = this.channel;
    // One group at a time: the inbox's transaction is not shared.
    this.chain = this.chain.then(() => this.applyGroup(channel, batch)).catch((error) => {
      this.log('error', `a group failed: ${printable(error.message)}`);
    });
  }

  async applyGroup(channel, batch) {
    const accepted = [];
    for (const message of batch) {
      let decoded;
      try {
        decoded = envelope.decode(message, this.maxMessageBytes);
      } catch (error) {
        if (!(error instanceof envelope.Undecodable)) throw error;
        this.deadLetter(channel, message, error.message, error.code);
        continue;
      }
      if (decoded.kind !== 'command') {
        this.deadLetter(channel, message,
          `a command queue takes only commands, this is a ${decoded.kind}`, 'wrong_kind');
      } else if (!decoded.command.replyTo) {
        this.deadLetter(channel, message, 'command has no reply_to: nowhere to send the reply',
          'no_reply_to');
      } else {
        accepted.push({ message, command: decoded.command });
      }
    }
    if (accepted.length === 0) return;
    let replies;
    try {
      replies = await this.inbox.apply(accepted.map((a) => a.command),
        (command) => this.runCommand(command), this.fault);
    } catch (error) {
      // Nothing of the group committed (or its fate is unknown and the retry finds the
      // remembered reply): a technical error lets the step's retry policy decide.
      this.log('error', `the inbox could not commit ${accepted.length} commands: ` +
        printable(error.message));
      const body = JSON.stringify({ error: error.message });
      replies = accepted.map(() => ({ outcome: 'technical_error', errorCode: 'InboxUnavailable',
        body }));
    }
    await this.fault('before_publish');
    accepted.forEach(({ message, command }, i) => {
      const options = envelope.replyOptions(command, replies[i]);
      channel.publish('', command.replyTo, Buffer.from(replies[i].body, 'utf8'), options,
        (error) => this.settleReply(channel, message, options.messageId, error));
    });
  }

  async runCommand(command) {
    const handler = this.handlers.get(command.type);
    if (!handler) {
      // Not remembered: a later deployment may serve the retry (section 5).
      return { remember: false, reply: { outcome: 'business_failure', errorCode: 'UnknownCommand',
        body: JSON.stringify({ error: `no handler for ${command.type}` }) } };
    }
    const payload = command.payload;
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return { remember: true, reply: { outcome: 'business_failure', errorCode: 'MalformedPayload',
        body: JSON.stringify({ error: 'the body is not a JSON object' }) } };
    }
    try {
      const result = await handler({ db: this.inbox.db, command }, payload);
      return { remember: true, reply: { outcome: 'success', errorCode: '',
        body: JSON.stringify(result === undefined || result === null ? {} : result) } };
    } catch (error) {
      if (error instanceof BusinessFailure) {
        return { remember: true, reply: { outcome: 'business_failure', errorCode: error.code,
          body: JSON.stringify(error.details) } };
      }
      if (error instanceof TechnicalError) {
        return { remember: false, reply: { outcome: 'technical_error', errorCode: error.code,
          body: JSON.stringify(error.details) } };
      }
      this.log('error', `handler of ${printable(command.type)} failed: ${printable(error.message)}`);
      return { remember: false, reply: { outcome: 'technical_error', errorCode: 'HandlerException',
        body: JSON.stringify({ error: String(error.message) }) } };
    }
  }

  settleReply(channel, message, replyId, error) {
    const returned = this.returned.get(replyId);
    this.returned.delete(replyId);
    if (error) {
      channel.nack(message, false, true); // the delivery limit bounds the loop
    } else if (returned) {
      this.deadLetter(channel, message, `the reply cannot be delivered: unroutable: ${returned}`,
        'unroutable');
    } else {
      channel.ack(message);
    }
  }

  /** Section 9: a copy with the reason, confirmed, then the original is acknowledged. */
  deadLetter(channel, message, reason, code) {
    this.log('warn', `dead-lettering message ${printable(message.properties.messageId || '')} ` +
      `from ${this.queue}: ${printable(reason)}`);
    channel.publish(`${this.prefix}.dead`, this.queue, message.content,
      envelope.deadLetterOptions(message.properties, reason, this.queue, code), (error) => {
        if (error) channel.reject(message, false); // the queue's dead-lettering takes it
        else channel.ack(message);
      });
  }
}

module.exports = { Worker, BusinessFailure, TechnicalError };
