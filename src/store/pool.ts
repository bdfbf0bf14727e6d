import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { Config } from '../config.js';
import { readPem } from '../tls-files.js';
import { parseDatabaseUrl } from './database-url.js';
import { createHostPicker, pickingClient } from './writable-host.js';

export type Pool = pg.Pool;
export type DatabaseTls = Config['databaseTls'];

/** A pool on `connectionString`, which may list several hosts (libpq's form, database-url.ts). */
export function createPool(connectionString: string, max: number, tls?: DatabaseTls): Pool {
  const ssl = tls && sslOptions(tls);
  const url = /^postgres(ql)?:/.test(connectionString) ? parseDatabaseUrl(connectionString) : undefined;
  const client = { connectionString: url?.single ?? connectionString, ...(ssl && { ssl }) };
  const picking = url && (url.hosts.length > 1 || url.sessionAttrs !== 'any');
  const pool = new pg.Pool({
    ...client,
    max,
    idleTimeoutMillis: 30_000,
    ...(picking && { Client: pickingClient(createHostPicker(url, client)) }),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/** libpq's sslmode meanings: require encrypts only; verify-ca checks the chain; verify-full the host name too. */
function sslOptions(tls: DatabaseTls): ConnectionOptions | undefined {
  if (tls.mode === 'disable') return undefined;
  return {
    rejectUnauthorized: tls.mode !== 'require',
    ...(tls.mode === 'verify-ca' && { checkServerIdentity: () => undefined }),
    ...(tls.caFile && { ca: readPem(tls.caFile, 'DATABASE_SSL_CA') }),
    ...(tls.certFile && { cert: readPem(tls.certFile, 'DATABASE_SSL_CERT') }),
    ...(tls.keyFile && { key: readPem(tls.keyFile, 'DATABASE_SSL_KEY') }),
  };
}
