import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { Config } from '../config.js';
import { readPem } from '../tls-files.js';

export type Pool = pg.Pool;
export type DatabaseTls = Config['databaseTls'];

export function createPool(connectionString: string, max: number, tls?: DatabaseTls): Pool {
  const ssl = tls && sslOptions(tls);
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, ...(ssl && { ssl }) });
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
