import { loadConfig, required } from '../config.js';
import { createLogger } from '../logger.js';
import { migrate } from '../store/migrate.js';
import { createPool, type Pool } from '../store/pool.js';
import { announceReadModelsChanged, cacheNamespace, createStatsCache } from './stats-cache.js';

/** What both command-line jobs need: the configuration, a migrated pool, and a way to invalidate the stats caches. */
export async function cliContext(name: string) {
  const config = loadConfig();
  const log = createLogger(name, config.logLevel === 'info' ? 'warn' : config.logLevel);
  const pool: Pool = createPool(required(config.databaseUrl, 'DATABASE_URL'), 4, config.databaseTls);
  await migrate(pool, log);
  const cache = config.readSide.statsCache.redisUrl
    ? createStatsCache({ ...config.readSide.statsCache, namespace: cacheNamespace(config.databaseUrl) }, log)
    : undefined;
  return {
    config,
    log,
    pool,
    invalidate: () => announceReadModelsChanged(pool, cache),
    async close() {
      await cache?.close();
      await pool.end();
    },
  };
}

/** Runs a command-line job: its answer as JSON on stdout, exit code 1 with the reason on failure. */
export function runCli(job: () => Promise<unknown>): void {
  job().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    },
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
