import { parseArgs } from 'node:util';
import { cliContext, runCli } from './cli.js';
import { createProgress } from './progress.js';
import { rebuildProjections } from './rebuild.js';

// npm run projections:rebuild [-- --restart] [--chunk 5000]
runCli(async () => {
  const { values } = parseArgs({ options: { restart: { type: 'boolean', default: false }, chunk: { type: 'string', default: '5000' } } });
  const ctx = await cliContext('projections-rebuild');
  const progress = createProgress('rebuilding projections');
  try {
    let last = { done: 0, total: null as number | null };
    const result = await rebuildProjections({
      pool: ctx.pool,
      chunkSize: Number(values.chunk),
      restart: values.restart,
      onProgress: (done, total) => {
        last = { done, total };
        progress.update(done, total);
      },
      onChanged: ctx.invalidate,
    });
    progress.end(last.done, last.total);
    return result;
  } finally {
    await ctx.close();
  }
});
