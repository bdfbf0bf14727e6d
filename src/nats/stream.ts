import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { nanos, TimeoutError } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';

type StreamSettings = Config['stream'];

/**
 * A stream as the service keeps them: file storage, limits retention, the deployment's replicas.
 * The events stream and its dead-letter stream differ in name, subjects, duplicate window and what
 * a full stream does: the events stream refuses new messages (`DiscardPolicy.New`), since dropping
 * its oldest could drop events nothing processed yet (the bridge's stream keeper trims processed
 * ones, src/bridge/stream-keeper.ts); the dead-letter stream drops its oldest.
 */
export function streamConfig(
  stream: StreamSettings,
  own: { name: string; subjects: string[]; duplicateWindowMs: number; discard: DiscardPolicy },
) {
  return {
    name: own.name,
    subjects: own.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: own.discard,
    max_msgs: stream.maxMessages,
    max_age: nanos(stream.maxAgeMs),
    duplicate_window: nanos(own.duplicateWindowMs),
    num_replicas: stream.replicas,
  };
}

/**
 * Creates the stream, or brings an existing one up to `config`. Several processes start at once
 * (two APIs, two workers): a creation may race another, or in a cluster wait on a new replica
 * group longer than a request's timeout; both are tried again, and then the stream is there.
 */
export async function ensureStreamConfig(jsm: JetStreamManager, config: ReturnType<typeof streamConfig>, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { config: current } = await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, { ...current, ...config });
      return;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
        try {
          await jsm.streams.add(config);
          return;
        } catch (addErr) {
          if (!isRetryable(addErr) || attempt >= attempts) throw addErr;
        }
      } else if (!isRetryable(err) || attempt >= attempts) throw err;
    }
    await sleep(1_000);
  }
}

/** Made by another process meanwhile, or no answer in time (a cluster electing a leader). */
const isRetryable = (err: unknown) => err instanceof TimeoutError || (err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE);
const STREAM_NAME_IN_USE = 10058;

/** Creates the EVENTS stream per the contract, or brings an existing one up to it. */
export function ensureStream(jsm: JetStreamManager, stream: StreamSettings): Promise<void> {
  return ensureStreamConfig(
    jsm,
    streamConfig(stream, {
      name: stream.name,
      subjects: [`${SUBJECT_ROOT}.>`],
      duplicateWindowMs: stream.duplicateWindowMs,
      discard: DiscardPolicy.New,
    }),
  );
}
