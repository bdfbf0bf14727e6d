import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { loadConfig } from '../src/config.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { connectTemporal } from '../src/temporal/client.js';
import { decodeHistoryPayloads } from '../src/temporal/decode-history.js';

// `npm run histories:record [-- --only event|subscriber]`: runs the lifecycles of the event
// workflow on a throwaway deployment — completed; failed, then reprocessed; failed, then
// discarded; and a big event completed by reference (its input a reference to its stream
// message) — and the subscriber workflow's — paused after failures, probed until a probe is
// delivered and resumes it, its waiting deliveries drained, closed — and writes their
// histories, payloads decrypted, to test/histories/, where the replay test checks that the
// current workflow code still replays them. Run it after a deliberate change (docs/design.md,
// "Changing it"): before the first release it rewrites the one shape's folder; after it, a change
// behind patched() gets a folder of its own here and the released shapes keep theirs.

// The current workflow shape's folder (see test/replay.test.ts).
const OUT = resolve('test/histories/first-release');

const { values: args } = parseArgs({ options: { only: { type: 'string' } } });
const recording = (what: 'event' | 'subscriber') => args.only === undefined || args.only === what;

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const log = createLogger('record', 'error');
  const dataDir = resolve('.data/record-histories');
  await rm(dataDir, { recursive: true, force: true });
  const keys = `record:${randomBytes(32).toString('base64')}`;
  const env = {
    LOG_LEVEL: 'error',
    RETRY_INITIAL_INTERVAL: '100ms',
    RETRY_BACKOFF: '1',
    RETRY_MAX_INTERVAL: '100ms',
    RETRY_MAX_ATTEMPTS: '2',
    PAYLOAD_KEYS: keys,
    PAYLOAD_KEY_ID: 'record',
    // The event lifecycles' failing subscriber must not be paused; the subscriber lifecycle's
    // subscription sets its own threshold, and is probed soon.
    SUBSCRIBER_PAUSE_AFTER_FAILURES: '1000',
    SUBSCRIBER_PROBE_INITIAL: '300ms',
    SUBSCRIBER_PROBE_MAX: '600ms',
  };
  const d = await startThrowawayDeployment({
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    env,
    log,
  });
  const config = loadConfig({ NODE_ENV: 'test', PAYLOAD_KEYS: keys, PAYLOAD_KEY_ID: 'record' });
  const client = await connectTemporal(d.temporalAddress, config);

  let answer = 500;
  const receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(answer).end()));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const api = async (path: string, body: unknown) => {
    const res = await fetch(`${d.apiUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, string>;
  };
  const statusOf = async (id: string) => (await (await fetch(`${d.apiUrl}/api/events/${id}`)).json()) as { status?: string };
  const until = async (id: string, status: string) => {
    while ((await statusOf(id)).status !== status) await new Promise((r) => setTimeout(r, 200));
  };

  const write = async (name: string, workflowId: string) => {
    const handle = client.workflow.getHandle(workflowId);
    await handle.result();
    const history = await decodeHistoryPayloads(await handle.fetchHistory(), config);
    await writeFile(`${OUT}/${name}.json`, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
    console.log(`wrote ${OUT}/${name}.json (${history.events?.length} events)`);
  };

  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await mkdir(OUT, { recursive: true });
    if (recording('subscriber')) {
      // Failures pause the subscriber; two more deliveries wait; probes fail until the receiver
      // answers 200, then one delivers the oldest and resumes it; the drain sends the other two;
      // the workflow closes.
      const sub = await api('/api/subscriptions', {
        url,
        subjects: ['events.backend.service.history_subscriber'],
        settings: { pause_after_failures: 2 },
      });
      const first = (await api('/api/events/create', { event_type: 'history_subscriber', data: { n: 1 } })).event_id!;
      await until(first, 'completed');
      for (const n of [2, 3])
        await until((await api('/api/events/create', { event_type: 'history_subscriber', data: { n } })).event_id!, 'completed');
      await new Promise((r) => setTimeout(r, 1_000));
      answer = 200;
      await write('subscriber-paused-resumed', `subscriber-${sub.id}`);
      answer = 500;
    }
    if (!recording('event')) return;
    await api('/api/subscriptions', { url, subjects: ['events.backend.service.history_failing'] });
    const completed = (await api('/api/events/create', { event_type: 'history_completed', data: { n: 1 } })).event_id!;
    const reprocessed = (await api('/api/events/create', { event_type: 'history_failing', data: { n: 2 } })).event_id!;
    const discarded = (await api('/api/events/create', { event_type: 'history_failing', data: { n: 3 } })).event_id!;
    // Over INLINE_EVENT_MAX_BYTES: the workflow gets a reference to its stream message.
    const byReference = (await api('/api/events/create', { event_type: 'history_big', data: { blob: 'x'.repeat(64 * 1024) } })).event_id!;
    await until(completed, 'completed');
    await until(byReference, 'completed');
    await until(reprocessed, 'failed');
    await until(discarded, 'failed');
    await api(`/api/events/${discarded}/discard`, { reason: 'recorded' });
    answer = 200;
    await api(`/api/events/${reprocessed}/reprocess`, {});
    await until(reprocessed, 'completed');
    await until(discarded, 'discarded');

    for (const [name, id] of Object.entries({
      completed,
      'failed-reprocessed': reprocessed,
      discarded,
      'completed-by-reference': byReference,
    })) {
      await write(name, id);
    }
  } finally {
    receiver.close();
    await client.connection.close();
    await d.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
