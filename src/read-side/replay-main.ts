import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { parseArgs } from 'node:util';
import { required } from '../config.js';
import { fieldCryptoFor } from '../crypto/field-crypto.js';
import { SUBJECT_ROOT } from '../events/subject.js';
import { connectNats } from '../nats/connection.js';
import { cliContext, runCli } from './cli.js';
import { createProgress } from './progress.js';
import { replay } from './replay.js';

// npm run replay -- --since <ISO time> [--until <ISO time>] [--subject events.frontend.>] [--restart]
runCli(async () => {
  const { values } = parseArgs({
    options: {
      since: { type: 'string' },
      until: { type: 'string' },
      subject: { type: 'string', default: `${SUBJECT_ROOT}.>` },
      restart: { type: 'boolean', default: false },
    },
  });
  const time = (name: string, v: string | undefined) => {
    if (v !== undefined && Number.isNaN(Date.parse(v))) throw new Error(`--${name} must be an ISO 8601 time, such as 2026-11-30T00:00:00Z`);
    return v === undefined ? undefined : new Date(v).toISOString();
  };
  const since = time('since', values.since);
  if (!since) throw new Error('--since <ISO 8601 time> is required');
  const until = time('until', values.until);
  if (!values.subject.startsWith(`${SUBJECT_ROOT}.`)) throw new Error(`--subject must be within ${SUBJECT_ROOT}.>`);

  const ctx = await cliContext('replay');
  const nc = await connectNats(required(ctx.config.natsUrl, 'NATS_URL'), 'event-service-replay', ctx.log, ctx.config.natsTls);
  const progress = createProgress('replaying');
  try {
    let last = { done: 0, total: null as number | null };
    const result = await replay({
      pool: ctx.pool,
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      stream: ctx.config.stream.name,
      sensitiveFields: ctx.config.sensitiveFields,
      fields: fieldCryptoFor(ctx.config),
      params: { since, ...(until && { until }), subject: values.subject },
      restart: values.restart,
      onProgress: (done, total) => {
        last = { done, total };
        progress.update(done, total);
      },
    });
    progress.end(last.done, last.total);
    if (result.counted > 0 || result.stored > 0) await ctx.invalidate();
    return result;
  } finally {
    await nc.drain();
    await ctx.close();
  }
});
