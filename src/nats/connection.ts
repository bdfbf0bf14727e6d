import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

export type NatsTls = Config['natsTls'];

export async function connectNats(url: string, name: string, log: Logger, tls?: NatsTls): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(','),
    name,
    // Keep trying forever: a NATS restart must not take the service down with it.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...(tls?.caFile || tls?.certFile ? { tls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile } } : {}),
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn({ nats: s.type }, 'nats connection status');
    }
  })();
  return nc;
}
