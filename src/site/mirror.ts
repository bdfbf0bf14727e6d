import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config.js';
import { streamConfig } from '../nats/stream.js';

// A standby site keeps a JetStream mirror of the primary site's events stream, pulled across the
// leaf node (or gateway) that joins the two sites' NATS. Each site's JetStream has a domain of its
// own, so the mirror reaches the primary's stream through its API prefix `$JS.<domain>.API`. The
// mirror has no subjects: nothing published at the standby lands in it, and nothing processes it
// until the site is promoted (promote.ts).

export const mirrorStreamName = (eventStream: string) => `${eventStream}_MIRROR`;

/** What promotion needs to know of the origin, kept in the mirror's description. */
export interface MirrorOrigin {
  stream: string;
  domain: string;
  /** The origin's creation time: part of the ids made for id-less messages (nats-event.ts). */
  created: string;
}

const DESCRIPTION = /^mirror of (\S+) in JetStream domain (\S+), created (\S+)$/;

export const describeOrigin = (o: MirrorOrigin) => `mirror of ${o.stream} in JetStream domain ${o.domain}, created ${o.created}`;

export function parseOrigin(description: string | undefined): MirrorOrigin | undefined {
  const m = description ? DESCRIPTION.exec(description) : null;
  return m ? { stream: m[1]!, domain: m[2]!, created: m[3]! } : undefined;
}

const isNotFound = (err: unknown) => err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;

/**
 * Creates the mirror of the primary's events stream on this site's NATS, or says it is there.
 * The primary must answer once, for its stream's creation time; after that the mirror follows it
 * on its own and keeps what it has whenever the primary is unreachable.
 */
export async function ensureMirror(
  nc: NatsConnection,
  stream: Config['stream'],
  primaryDomain: string,
): Promise<{ created: boolean; origin: MirrorOrigin }> {
  const local = await jetstreamManager(nc);
  const name = mirrorStreamName(stream.name);
  const existing = await mirrorInfo(local, name);
  if (existing) return { created: false, origin: existing };
  const primary = await jetstreamManager(nc, { domain: primaryDomain });
  const { created } = await primary.streams.info(stream.name);
  const origin = { stream: stream.name, domain: primaryDomain, created };
  // A mirror takes its subjects from the origin and has no duplicate window of its own. Full, it
  // drops its oldest: refusing would stop it mirroring, and what the origin's keeper trims was processed there.
  const limits: Partial<ReturnType<typeof streamConfig>> = streamConfig(stream, {
    name,
    subjects: [],
    duplicateWindowMs: 0,
    discard: DiscardPolicy.Old,
  });
  delete limits.subjects;
  delete limits.duplicate_window;
  await local.streams.add({
    ...limits,
    name,
    description: describeOrigin(origin),
    mirror: { name: stream.name, external: { api: `$JS.${primaryDomain}.API`, deliver: '' } },
  });
  return { created: true, origin };
}

async function mirrorInfo(jsm: JetStreamManager, name: string): Promise<MirrorOrigin | undefined> {
  try {
    const info = await jsm.streams.info(name);
    const origin = parseOrigin(info.config.description);
    if (!info.config.mirror || !origin) throw new Error(`stream ${name} exists but is not a mirror made by site:standby`);
    return origin;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The mirror's state: its last sequence and how far behind the origin it last was. */
export async function mirrorState(jsm: JetStreamManager, eventStream: string) {
  const info = await jsm.streams.info(mirrorStreamName(eventStream)).catch((err: unknown) => {
    if (isNotFound(err))
      throw new Error(`no stream ${mirrorStreamName(eventStream)} on this NATS: this site was never a standby (npm run site:standby)`);
    throw err;
  });
  const origin = parseOrigin(info.config.description);
  if (!origin) throw new Error(`stream ${mirrorStreamName(eventStream)} is not a mirror made by site:standby`);
  return { origin, firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, messages: info.state.messages, lag: info.mirror?.lag };
}
