'use strict';
// Outside events (docs/protocol.md section 8) from a service that serves no command queue: a
// payment webhook turned into `payment.succeeded`, a gateway callback. Declares nothing but the
// events exchange, so it leaves no stray queue behind.

const amqp = require('amqplib');
const envelope = require('./envelope');

/** The broker returned the event (312 NO_ROUTE): no flow listens to that type. */
class EventNotRouted extends Error {}

class EventPublisher {
  constructor(url, { prefix = 'sagaflow' } = {}) {
    this.url = url;
    this.exchange = `${prefix}.events`;
    this.opening = null;
    this.returned = new Set();
  }

  async open() {
    if (!this.opening) {
      this.opening = (async () => {
        const connection = await amqp.connect(this.url, { heartbeat: 10 });
        const forget = () => { this.opening = null; };
        connection.on('close', forget);
        connection.on('error', forget);
        const channel = await connection.createConfirmChannel();
        channel.on('return', (message) => this.returned.add(message.properties.messageId));
        await channel.assertExchange(this.exchange, 'topic', { durable: true });
        return { connection, channel };
      })();
      this.opening.catch(() => { this.opening = null; });
    }
    return this.opening;
  }

  /**
   * Resolves once the broker confirmed the event; rejects with EventNotRouted when no flow
   * listens to the type. messageId must be stable for the fact ('payment.succeeded/pay-42').
   */
  async publish(eventType, payload, messageId, traceparent = '') {
    const { channel } = await this.open();
    const body = Buffer.from(JSON.stringify(payload), 'utf8');
    await new Promise((resolve, reject) => {
      channel.publish(this.exchange, eventType, body,
        envelope.eventOptions(eventType, messageId, traceparent),
        (error) => (error ? reject(new Error(`the broker refused event ${messageId}`)) : resolve()));
    });
    if (this.returned.delete(messageId)) {
      throw new EventNotRouted(`no queue is bound to event type ${eventType}`);
    }
  }

  async close() {
    const opening = this.opening;
    this.opening = null;
    if (opening) {
      const { connection } = await opening;
      await connection.close().catch(() => {});
    }
  }
}

module.exports = { EventPublisher, EventNotRouted };
