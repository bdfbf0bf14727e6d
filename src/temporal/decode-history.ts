import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../config.js';
import { createPayloadCodec } from './codec.js';

type History = temporal.api.history.v1.IHistory;

/**
 * A history with every payload decoded by the service's codec (decrypted), for tools that
 * keep or replay histories without the key: the replay test's committed histories.
 */
export async function decodeHistoryPayloads(history: History, config: Pick<Config, 'env' | 'payloadCodec'>): Promise<History> {
  const codec = createPayloadCodec(config);
  if (!codec) return history;
  const visit = async (node: unknown): Promise<void> => {
    if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (isPayload(value)) {
        (node as Record<string, unknown>)[key] = (await codec.decode([value]))[0];
      } else if (Array.isArray(value) && value.length > 0 && value.every(isPayload)) {
        (node as Record<string, unknown>)[key] = await codec.decode(value);
      } else {
        await visit(value);
      }
    }
  };
  await visit(history);
  return history;
}

function isPayload(v: unknown): v is Payload {
  return !!v && typeof v === 'object' && 'metadata' in v && 'data' in v && ArrayBuffer.isView((v as Payload).data);
}
