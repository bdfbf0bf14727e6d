import { randomUUID } from 'node:crypto';
import { chown, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { pgOwner } from '../src/dev/postgres-host.js';
import { findFreePort } from '../src/dev/ports.js';
import { spawnServices, type Services } from '../src/dev/services.js';
import { startStack, type RunningStack } from '../src/dev/stack.js';
import { createLogger } from '../src/logger.js';
import { connectNats } from '../src/nats/connection.js';
import { createPool } from '../src/store/pool.js';
import { eventually, stack } from './helpers.js';
import { TEST_LIFECYCLE_ENV } from './stack-settings.js';
import { makeTestCertificates, type TestCertificates } from './tls-certs.js';

// NATS that accepts only TLS clients with a certificate from our CA, PostgreSQL with TLS on, and
// the real API and worker processes configured the way docs/deployment.md says: an event goes through.
const log = createLogger('tls-test', 'warn');
let certs: TestCertificates;
let deps: RunningStack;
let services: Services | undefined;
let env: Record<string, string>;
let apiUrl: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = join(loadConfig().dev.testDataDir, `tls-${randomUUID()}`);
  certs = await makeTestCertificates(join(dataDir, 'certs'));
  // PostgreSQL reads its key as its own user and refuses a key others can read.
  const owner = await pgOwner(log);
  const pgKey = join(certs.dir, 'postgres-server.key');
  await copyFile(certs.serverKey, pgKey);
  if (owner.uid !== undefined && owner.gid !== undefined) await chown(pgKey, owner.uid, owner.gid);
  const [natsPort, postgresPort, apiPort] = await Promise.all([findFreePort(), findFreePort(), findFreePort()]);
  deps = await startStack({
    dataDir,
    cacheDir: loadConfig().dev.cacheDir,
    log,
    nats: {
      port: natsPort,
      extraArgs: ['--tls', '--tlscert', certs.serverCert, '--tlskey', certs.serverKey, '--tlscacert', certs.ca, '--tlsverify'],
    },
    postgres: { port: postgresPort, settings: { ssl: 'on', ssl_cert_file: certs.serverCert, ssl_key_file: pgKey, ssl_ca_file: certs.ca } },
  });
  env = {
    NATS_TLS_CA: certs.ca,
    NATS_TLS_CERT: certs.clientCert,
    NATS_TLS_KEY: certs.clientKey,
    DATABASE_SSL_MODE: 'verify-full',
    DATABASE_SSL_CA: certs.ca,
  };
  apiUrl = `http://127.0.0.1:${apiPort}`;
  services = spawnServices({
    env: {
      ...TEST_LIFECYCLE_ENV,
      ...stack().payloadKeys,
      ...env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      WORKER_HEALTH_PORT: '0',
      // localhost, not 127.0.0.1: verify-full checks the name the certificate was made for.
      DATABASE_URL: deps.databaseUrl!.replace('127.0.0.1', 'localhost'),
      NATS_URL: deps.natsUrl!.replace('127.0.0.1', 'localhost'),
      TEMPORAL_ADDRESS: stack().temporalAddress,
      // This deployment's own workers, beside the shared test worker on the same Temporal.
      TEMPORAL_TASK_QUEUE: `tls-${randomUUID()}`,
    },
    apiUrl,
    log,
    stdio: 'ignore',
  });
  await services.ready;
}, 240_000);

afterAll(async () => {
  await services?.stop();
  await deps?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('TLS to NATS and PostgreSQL', () => {
  it('runs the API, the bridge and the worker over TLS: an event is stored and completed', async () => {
    const posted = await fetch(`${apiUrl}/api/events/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'tls_checked', data: { hop: 'all' } }),
    });
    expect(posted.status).toBe(202);
    const { event_id: id } = (await posted.json()) as { event_id: string };
    const stored = await eventually(
      async () => {
        const res = await fetch(`${apiUrl}/api/events/${id}`);
        const body = (await res.json()) as { status?: string };
        return body.status === 'completed' ? body : undefined;
      },
      60_000,
      `event ${id} to complete`,
    );
    expect(stored).toMatchObject({ event_id: id, data: { hop: 'all' } });

    // Every connection the service holds to PostgreSQL is encrypted.
    const pool = createPool(deps.databaseUrl!.replace('127.0.0.1', 'localhost'), 1, loadConfig(env).databaseTls);
    try {
      const { rows } = await pool.query<{ ssl: boolean; mine: boolean }>(
        `SELECT s.ssl, a.pid = pg_backend_pid() AS mine FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
          WHERE a.backend_type = 'client backend' AND a.datname = current_database()`,
      );
      expect(rows.filter((r) => !r.mine).length).toBeGreaterThan(0);
      expect(rows.every((r) => r.ssl)).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('refuses a PostgreSQL server whose certificate our CA did not sign', async () => {
    const pool = createPool(
      deps.databaseUrl!.replace('127.0.0.1', 'localhost'),
      1,
      loadConfig({ ...env, DATABASE_SSL_CA: certs.otherCa }).databaseTls,
    );
    try {
      await expect(pool.query('SELECT 1')).rejects.toThrow(/certificate/i);
    } finally {
      await pool.end();
    }
  });

  it('NATS refuses a client without a certificate', async () => {
    const url = deps.natsUrl!.replace('127.0.0.1', 'localhost');
    const nc = await connectNats(url, 'tls-test', log, loadConfig(env).natsTls);
    expect(nc.info?.tls_required ?? nc.info?.tls_verify).toBeTruthy();
    await nc.close();
    // What makes the first test meaningful: this server takes no client without our certificate.
    await expect(connect({ servers: url, tls: { caFile: certs.ca }, timeout: 5_000, reconnect: false })).rejects.toThrow();
  });

  it('refuses half-made TLS settings at start', () => {
    expect(() => loadConfig({ NATS_TLS_CERT: certs.clientCert })).toThrow(/NATS_TLS_KEY/);
    expect(() => loadConfig({ DATABASE_SSL_MODE: 'require', DATABASE_URL: 'postgres://u@h/db?sslmode=disable' })).toThrow(
      /DATABASE_SSL_MODE only/,
    );
  });
});
