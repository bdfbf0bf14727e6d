import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../logger.js';

/**
 * Sends the Temporal SDK's logs (worker, workflow and activity `log`) through our pino logger
 * and, given an address, serves the SDK's metrics there with its core's Prometheus exporter.
 */
export function installRuntimeLogger(log: Logger, metricsBindAddress?: string): void {
  const level = ({ trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' } as const)[log.level as 'info'] ?? 'WARN';
  Runtime.install({
    // Our shutdown function decides the order (bridge, then worker, then connections).
    shutdownSignals: [],
    ...(metricsBindAddress && {
      telemetryOptions: {
        metrics: {
          prometheus: { bindAddress: metricsBindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
        },
      },
    }),
    logger: new DefaultLogger(level as LogLevel, ({ level: l, message, meta }) => {
      const method = l === 'TRACE' ? 'trace' : l === 'DEBUG' ? 'debug' : l === 'INFO' ? 'info' : l === 'WARN' ? 'warn' : 'error';
      log[method](meta ?? {}, message);
    }),
  });
}
