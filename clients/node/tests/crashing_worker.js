'use strict';
// A worker process that dies at a fault point, as kill -9 would: nothing flushed, nothing
// acknowledged. Usage: crashing_worker.js URL PREFIX SQLITE_FILE POINT ('' = never).
const { Worker, SqliteInbox } = require('sagaflow');
const { counterHandlers } = require('./counter');

const [url, prefix, file, point] = process.argv.slice(2);
const worker = new Worker(url, 'counter', new SqliteInbox(file, { scope: 'counter' }), {
  prefix,
  log: () => {},
  fault: async (at) => { if (point && at === point) process.kill(process.pid, 'SIGKILL'); },
});
counterHandlers(worker, 'sqlite');
worker.run();
