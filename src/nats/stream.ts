import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import { SUBJECT_ROOT } from '../events/subject.js';

/** Creates the EVENTS stream per the contract, or brings an existing one up to it. */
export async function ensureStream(jsm: JetStreamManager, stream: Config['stream']): Promise<void> {
  const config = {
    name: stream.name,
    subjects: [`${SUBJECT_ROOT}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: stream.maxMessages,
    max_age: nanos(stream.maxAgeMs),
    duplicate_window: nanos(stream.duplicateWindowMs),
    num_replicas: stream.replicas,
  };
  try {
    const { config: current } = await jsm.streams.info(stream.name);
    await jsm.streams.update(stream.name, { ...current, ...config });
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
    await jsm.streams.add(config);
  }
}
