import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';

export async function connectNats(url: string, name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(','),
    name,
    // Keep trying forever: a NATS restart must not take the service down with it.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn({ nats: s.type }, 'nats connection status');
    }
  })();
  return nc;
}
