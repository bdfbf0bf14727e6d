import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';

type StreamSettings = Config['stream'];

/**
 * A stream as the service keeps them: file storage, limits retention (oldest dropped), the
 * deployment's replicas. The events stream and its dead-letter stream differ only in name,
 * subjects and duplicate window.
 */
export function streamConfig(stream: StreamSettings, own: { name: string; subjects: string[]; duplicateWindowMs: number }) {
  return {
    name: own.name,
    subjects: own.subjects,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: stream.maxMessages,
    max_age: nanos(stream.maxAgeMs),
    duplicate_window: nanos(own.duplicateWindowMs),
    num_replicas: stream.replicas,
  };
}

/** Creates the stream, or brings an existing one up to `config`. */
export async function ensureStreamConfig(jsm: JetStreamManager, config: ReturnType<typeof streamConfig>): Promise<void> {
  try {
    const { config: current } = await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, { ...current, ...config });
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
    await jsm.streams.add(config);
  }
}

/** Creates the EVENTS stream per the contract, or brings an existing one up to it. */
export function ensureStream(jsm: JetStreamManager, stream: StreamSettings): Promise<void> {
  return ensureStreamConfig(jsm, streamConfig(stream, { name: stream.name, subjects: [`${SUBJECT_ROOT}.>`], duplicateWindowMs: stream.duplicateWindowMs }));
}
