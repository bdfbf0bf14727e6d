import { type Client, createClient, type TrackOptions } from './client.js';
import type { InitOptions } from './options.js';
import type { JsonObject, Stats } from './types.js';

export { createClient, SDK_NAME, SDK_VERSION } from './client.js';
export type { Client, TrackOptions } from './client.js';
export type { InitOptions } from './options.js';
export type { Category, ItemError, JsonObject, JsonValue, QueuedEvent, Report, Stats } from './types.js';

// One client per page for the plain functions; createClient makes more where a page needs them.
let client: Client | undefined;

const current = (): Client => {
  if (!client) throw new Error('event-service: call init({ endpoint, writeKey }) first');
  return client;
};

export function init(options: InitOptions): Client {
  client?.destroy();
  client = createClient(options);
  return client;
}

/** Queues an event and returns its id (a UUIDv7, the service's idempotency key). */
export const track = (eventType: string, data?: JsonObject, options?: TrackOptions): string => current().track(eventType, data, options);
export const page = (data?: JsonObject): string => current().page(data);
export const identify = (userId: string): void => current().identify(userId);
export const reset = (): void => current().reset();
/** Sends what is queued; resolves when the queue is empty, another tab is sending it, or a retry is scheduled. */
export const flush = (): Promise<void> => current().flush();
export const stats = (): Promise<Stats> => current().stats();
