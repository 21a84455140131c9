'use strict';
// Sagaflow workers in Node.js: serve a service's commands over RabbitMQ with the idempotency and
// acknowledgement rules of docs/protocol.md, a transactional inbox in the service's own database
// (SQLite or PostgreSQL), and an event publisher.

const { Worker, BusinessFailure, TechnicalError } = require('./lib/worker');
const { SqliteInbox, PostgresInbox } = require('./lib/inbox');
const { EventPublisher, EventNotRouted } = require('./lib/publisher');

module.exports = { Worker, BusinessFailure, TechnicalError, SqliteInbox, PostgresInbox,
  EventPublisher, EventNotRouted };
