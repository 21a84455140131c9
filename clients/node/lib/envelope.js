'use strict';
// The envelope of docs/protocol.md section 3: reading a command, addressing its reply, and the
// copy that goes to the dead letters (section 9).

const MAX_MESSAGE_BYTES = 1024 * 1024; // section 10
const OUTCOMES = ['success', 'business_failure', 'technical_error'];
const STRING_HEADERS = ['sagaflow-kind', 'flow', 'step', 'idempotency-key', 'causation-id',
  'outcome', 'error-code', 'traceparent'];

/**
 * The message breaks the envelope; its message is the dead letter's reason and `code` the
 * reason's code (section 9): malformed_envelope unless given.
 */
class Undecodable extends Error {
  constructor(reason, code = 'malformed_envelope') {
    super(reason);
    this.code = code;
  }
}

function header(headers, name) {
  const value = (headers || {})[name];
  if (value === undefined || value === null) return '';
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value !== 'string') throw new Undecodable(`header '${name}' is not a string`);
  return value;
}

/**
 * Reads a delivery as the C++ adapter does. Returns {kind, command}; command only for commands.
 * Throws Undecodable with the section 9 reason.
 */
function decode(message, maxBytes = MAX_MESSAGE_BYTES) {
  const p = message.properties;
  const body = message.content;
  if (body.length > maxBytes) {
    throw new Undecodable(`message of ${body.length} bytes is over the limit of ${maxBytes} bytes`,
      'oversized');
  }
  if (!p.messageId) throw new Undecodable('no message_id');
  if (p.contentType && p.contentType !== 'application/json') {
    throw new Undecodable(`content_type is '${p.contentType}', not application/json`);
  }
  const headers = p.headers || {};
  for (const name of STRING_HEADERS) header(headers, name);
  const kind = header(headers, 'sagaflow-kind');
  if (!kind) throw new Undecodable('no sagaflow-kind header');
  if (!['command', 'reply', 'event'].includes(kind)) {
    throw new Undecodable(`unknown sagaflow-kind '${kind}'`);
  }
  if (!p.type) throw new Undecodable('no type');
  const attempt = headers.attempt === undefined ? 0 : headers.attempt;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 0 ||
      attempt > 0xffffffff) {
    throw new Undecodable("header 'attempt' is not an integer from 0 to 2^32-1");
  }
  const outcome = header(headers, 'outcome');
  if (outcome && !OUTCOMES.includes(outcome)) throw new Undecodable(`unknown outcome '${outcome}'`);
  let payload;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new Undecodable(`body is not JSON: ${error.message}`, 'not_json');
  }
  if (kind !== 'command') return { kind, command: null };
  const idempotencyKey = header(headers, 'idempotency-key');
  return {
    kind,
    command: {
      messageId: p.messageId,
      type: p.type,
      sagaId: p.correlationId || '',
      replyTo: p.replyTo || '',
      idempotencyKey,
      key: idempotencyKey || p.messageId, // what the command is applied once per (section 6)
      attempt,
      flow: header(headers, 'flow'),
      step: header(headers, 'step'),
      traceparent: header(headers, 'traceparent'),
      payload,
      headers,
    },
  };
}

/** Section 5: the reply addressed to *this* command, whatever attempt was remembered. */
function replyOptions(command, reply) {
  const headers = {
    'sagaflow-kind': 'reply',
    'causation-id': command.messageId,
    outcome: reply.outcome,
    attempt: command.attempt,
  };
  if (reply.errorCode) headers['error-code'] = reply.errorCode;
  for (const [name, value] of [['flow', command.flow], ['step', command.step],
    ['idempotency-key', command.idempotencyKey], ['traceparent', command.traceparent]]) {
    if (value) headers[name] = value;
  }
  const options = {
    messageId: `${command.messageId}/reply`,
    type: command.type,
    contentType: 'application/json',
    deliveryMode: 2,
    headers,
    mandatory: true,
  };
  if (command.sagaId) options.correlationId = command.sagaId;
  return options;
}

/** A message's properties, persistent, with these headers. */
function copyOptions(properties, headers) {
  const options = {};
  for (const name of ['contentType', 'contentEncoding', 'priority', 'correlationId', 'replyTo',
    'messageId', 'timestamp', 'type', 'userId', 'appId']) {
    if (properties[name] !== undefined) options[name] = properties[name];
  }
  options.headers = headers;
  options.deliveryMode = 2;
  return options;
}

/**
 * Section 9: the original envelope kept whole, plus the reason, its code (one of the fixed
 * set's) and the source queue.
 */
function deadLetterOptions(properties, reason, queue, code) {
  const headers = { ...(properties.headers || {}), 'x-sagaflow-reason': reason,
    'x-sagaflow-reason-code': code, 'x-sagaflow-queue': queue };
  return copyOptions(properties, headers);
}

const QUEUE_TYPES = ['quorum', 'classic'];
const DELIVERY_LIMIT = 3;
const RETURNS_HEADER = 'x-sagaflow-returns';

/** Section 2, classic queues: the returns the message carries (absent or not a count: 0). */
function returnsCounted(properties) {
  const value = (properties.headers || {})[RETURNS_HEADER];
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/**
 * Section 2, classic queues: the copy published back, every property and header as received
 * but the returns counted.
 */
function returnedOptions(properties, returns) {
  return { ...copyOptions(properties, { ...(properties.headers || {}), [RETURNS_HEADER]: returns }),
    mandatory: true };
}

/** Section 8, outside events. */
function eventOptions(eventType, messageId, traceparent = '') {
  const headers = { 'sagaflow-kind': 'event' };
  if (traceparent) headers.traceparent = traceparent;
  return { messageId, type: eventType, contentType: 'application/json', deliveryMode: 2, headers,
    mandatory: true };
}

/**
 * Section 2: exactly what the orchestrator declares, or the broker refuses the queue. Classic
 * queues (one node) take no delivery limit: the consumer counts returns itself.
 */
function workQueueArguments(prefix, queueType = 'quorum') {
  if (queueType === 'classic') {
    return { 'x-queue-type': 'classic', 'x-dead-letter-exchange': `${prefix}.dead` };
  }
  return { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': `${prefix}.dead`,
    'x-delivery-limit': DELIVERY_LIMIT };
}

module.exports = { MAX_MESSAGE_BYTES, QUEUE_TYPES, DELIVERY_LIMIT, Undecodable, decode,
  replyOptions, deadLetterOptions, eventOptions, workQueueArguments, returnsCounted,
  returnedOptions };
