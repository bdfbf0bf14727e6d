import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { type ConnectedDeps, connectAppDeps } from '../src/api/deps.js';
import { type Config, loadConfig } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { stack } from './helpers.js';

// An API built in this process from a config of the test's choosing (auth on, small limits…),
// wired to the stack's real NATS, PostgreSQL and Temporal as src/api/server.ts wires it.

/** A logger whose lines the test can read. */
export function capturingLogger(level = 'info'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
  return { log: pino({ level }, sink), lines };
}

export function testConfig(env: Record<string, string> = {}): Config {
  const s = stack();
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: s.databaseUrl,
    NATS_URL: s.natsUrl,
    TEMPORAL_ADDRESS: s.temporalAddress,
    ...(!env.PAYLOAD_KEYS && s.payloadKeys),
    ...env,
  });
}

export type Connected = ConnectedDeps;

export const connectDeps = (config: Config, log: Logger = pino({ level: 'silent' })): Promise<Connected> => connectAppDeps(config, log);

/** Builds the app; `close` shuts the app and its connections. */
export async function startApp(
  env: Record<string, string> = {},
  log?: Logger,
): Promise<{ app: FastifyInstance; connected: Connected; close(): Promise<void> }> {
  const connected = await connectDeps(testConfig(env), log);
  const app = await buildApp(connected.deps).catch(async (err: unknown) => {
    await connected.close();
    throw err;
  });
  await app.ready();
  return {
    app,
    connected,
    async close() {
      await app.close();
      await connected.close();
    },
  };
}
