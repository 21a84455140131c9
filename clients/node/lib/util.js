'use strict';

/** Jittered exponential backoff (ms): each delay drawn in [d/2, d], d doubling up to max. */
function* backoffDelays(min, max, random = Math.random) {
  let delay = min;
  for (;;) {
    yield Math.round(delay / 2 + (random() * delay) / 2);
    delay = Math.min(delay * 2, max);
  }
}

/** Input-derived text for a log line: control characters escaped. */
function printable(text) {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

module.exports = { backoffDelays, printable };
