import { parseArgs } from 'node:util';
import { fieldCryptoFor } from '../crypto/field-crypto.js';
import { cliContext, runCli } from './cli.js';
import { createProgress } from './progress.js';
import { resealFields } from './reseal-fields.js';

// npm run fields:reseal [-- --from <ISO time>] [--to <ISO time>] [--chunk 1000]: after a new key is added to PAYLOAD_KEYS (and made
// current), or after ENCRYPTED_FIELDS changed.
runCli(async () => {
  const { values } = parseArgs({
    options: { chunk: { type: 'string', default: '1000' }, from: { type: 'string' }, to: { type: 'string' } },
  });
  for (const name of ['from', 'to'] as const) {
    if (values[name] !== undefined && Number.isNaN(Date.parse(values[name])))
      throw new Error(`--${name} must be an ISO 8601 time, such as 2026-11-30T00:00:00Z`);
  }
  const ctx = await cliContext('fields-reseal');
  try {
    const fields = fieldCryptoFor(ctx.config);
    if (!fields) throw new Error('PAYLOAD_KEYS is not set: there is no key to seal with');
    const progress = createProgress(`resealing fields (${fields.fields.join(',') || 'none configured'})`);
    let last = { done: 0, total: null as number | null };
    const result = await resealFields({
      pool: ctx.pool,
      fields,
      chunkSize: Number(values.chunk),
      ...(values.from && { from: new Date(values.from).toISOString() }),
      ...(values.to && { to: new Date(values.to).toISOString() }),
      onProgress: (done, total) => {
        last = { done, total };
        progress.update(done, total);
      },
    });
    progress.end(last.done, last.total);
    return result;
  } finally {
    await ctx.close();
  }
});
