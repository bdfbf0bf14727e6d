import { createRequire } from 'node:module';
import { pino } from 'pino';
import { runtimeEnv } from './config.js';

export type Logger = pino.Logger;

// Secrets that could reach a log line through an error or a header object; event data is never
// logged at all (lines carry ids, types, statuses and times).
const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-write-key"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'write_key',
  '*.write_key',
  'token',
  '*.token',
];

/**
 * JSON lines with `timestamp` (ISO 8601), `level` (its name), `service` and `process`. Readable
 * lines instead (pino-pretty, one line per entry, stacks kept whole) only for a person: written to
 * a terminal, outside production, with pino-pretty installed (a dev dependency). Piped or
 * redirected output stays JSON, and production's always is. `npm start`'s API and worker write
 * to its terminal (src/dev/services.ts), so they are readable there too.
 */
export function createLogger(name: string, level: string): Logger {
  const pretty = prettyLogs({ tty: process.stdout.isTTY === true, env: runtimeEnv() }) && canResolve('pino-pretty');
  return pino({
    name,
    level,
    base: { service: 'event-service', process: name },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    ...(pretty && { transport: { target: 'pino-pretty', options: PRETTY_OPTIONS } }),
  });
}

/** `[14:57:38.902] INFO (worker): message {"event_id":"…"}`: the process name is in parentheses. */
const PRETTY_OPTIONS = { translateTime: 'SYS:HH:MM:ss.l', timestampKey: 'timestamp', ignore: 'service,process', singleLine: true };

/** Whether log lines are for a person reading a terminal rather than for a log pipeline. */
export function prettyLogs({ tty, env }: { tty: boolean; env: string | undefined }): boolean {
  return tty && env !== 'production';
}

function canResolve(module: string): boolean {
  try {
    createRequire(import.meta.url).resolve(module);
    return true;
  } catch {
    return false;
  }
}
