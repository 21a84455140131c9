'use strict';
// A service whose effect is one committed UPDATE per command, in the inbox's transaction.
const { BusinessFailure, TechnicalError } = require('sagaflow');

function counterHandlers(worker, database) {
  worker.handle('counter.add', async (ctx, payload) => {
    if (database === 'pg') {
      await ctx.db.query('UPDATE counters SET n = n + $1 WHERE name = $2',
        [payload.amount, payload.name]);
    } else {
      ctx.db.prepare('UPDATE counters SET n = n + ? WHERE name = ?').run(payload.amount,
        payload.name);
    }
    if (payload.refuse) throw new BusinessFailure('Refused', { why: 'asked to' });
    if (payload.break) throw new TechnicalError('DatabaseDown', { error: 'asked to' });
    if (payload.crash) throw new Error('handler crashed');
    return { added: payload.amount };
  });
}

module.exports = { counterHandlers };
