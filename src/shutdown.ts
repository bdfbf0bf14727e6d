import type { Logger } from './logger.js';

export type ShutdownStep = readonly [name: string, stop: () => Promise<unknown>];

/**
 * The one place a process stops: on SIGINT or SIGTERM, run the steps in order (stop taking
 * work first, close connections last), then exit. A second signal exits at once.
 */
export function handleShutdown(log: Logger, steps: () => readonly ShutdownStep[]): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    let failed = false;
    for (const [name, run] of steps()) {
      try {
        await run();
      } catch (err) {
        failed = true;
        log.error({ err, step: name }, 'shutdown step failed');
      }
    }
    log.info('stopped');
    process.exit(failed ? 1 : 0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
