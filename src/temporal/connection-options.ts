import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config.js';
import { readPem } from '../tls-files.js';

type TemporalSettings = Pick<Config['temporal'], 'tls' | 'apiKey'>;

/** Address, TLS (mTLS with a client pair) and API key, the same for the client and the worker's connection. */
export function temporalConnectionOptions(
  address: string,
  { tls, apiKey }: TemporalSettings,
): { address: string; tls?: TLSConfig; apiKey?: string } {
  if (!tls.enabled) return { address, ...(apiKey && { apiKey }) };
  return {
    address,
    tls: {
      ...(tls.caFile && { serverRootCACertificate: readPem(tls.caFile, 'TEMPORAL_TLS_CA') }),
      ...(tls.certFile &&
        tls.keyFile && {
          clientCertPair: { crt: readPem(tls.certFile, 'TEMPORAL_TLS_CERT'), key: readPem(tls.keyFile, 'TEMPORAL_TLS_KEY') },
        }),
      ...(tls.serverName && { serverNameOverride: tls.serverName }),
    },
    ...(apiKey && { apiKey }),
  };
}
