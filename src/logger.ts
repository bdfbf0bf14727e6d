import { createRequire } from 'node:module';
import { pino } from 'pino';

export type Logger = pino.Logger;

// Secrets that could reach a log line through an error or a header object; event data is never
// logged at all (lines carry ids, types, statuses and times).
const REDACTED_PATHS = [
  'authorization', '*.authorization', '*.headers.authorization', '*.headers["x-write-key"]',
  'password', '*.password', 'secret', '*.secret', 'write_key', '*.write_key', 'token', '*.token',
];

/**
 * JSON lines with `timestamp` (ISO 8601), `level` (its name), `service` and `process`; pretty
 * only when written to a terminal and pino-pretty is installed (it is a dev dependency).
 */
export function createLogger(name: string, level: string): Logger {
  const pretty = process.stdout.isTTY && canResolve('pino-pretty');
  return pino({
    name,
    level,
    base: { service: 'event-service', process: name },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    ...(pretty && { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'service', timestampKey: 'timestamp' } } }),
  });
}

function canResolve(module: string): boolean {
  try {
    createRequire(import.meta.url).resolve(module);
    return true;
  } catch {
    return false;
  }
}
