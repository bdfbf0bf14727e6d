import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { service: 'event-service', process: name } });
}
