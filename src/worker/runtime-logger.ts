import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../logger.js';

/** Sends the Temporal SDK's logs (worker, workflow and activity `log`) through our pino logger. */
export function installRuntimeLogger(log: Logger): void {
  const level = ({ trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' } as const)[log.level as 'info'] ?? 'WARN';
  Runtime.install({
    // Our shutdown function decides the order (bridge, then worker, then connections).
    shutdownSignals: [],
    logger: new DefaultLogger(level as LogLevel, ({ level: l, message, meta }) => {
      const method = l === 'TRACE' ? 'trace' : l === 'DEBUG' ? 'debug' : l === 'INFO' ? 'info' : l === 'WARN' ? 'warn' : 'error';
      log[method](meta ?? {}, message);
    }),
  });
}
