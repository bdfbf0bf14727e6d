import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type FuzzAuth, type HostileRequest, hostileRequests } from './requests.js';

// Sends hostile requests and holds the service to its promises: every answer is a 2xx or a 4xx
// (a 4xx with the documented error body), never a 5xx or a dropped connection; every event it
// answered 202 for reaches an end state in PostgreSQL; and it is still healthy afterwards.

export interface ClassCounts {
  sent: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
  dropped: number;
}

export interface RequestFailure {
  /** Position in the seed's sequence: `hostileRequests({ seed, count: index + 1 })` ends with it. */
  index: number;
  class: string;
  problem: string;
  request: string;
  status?: number;
  answer?: string;
}

export interface UnfinishedEvent {
  eventId: string;
  /** Its status in PostgreSQL when the wait ended; null when it has no row. */
  status: string | null;
  /** The request whose answer accepted it. */
  from: string;
}

export interface FuzzReport {
  seed: number;
  byClass: Record<string, ClassCounts>;
  total: ClassCounts;
  /** How many answers had each status code. */
  statuses: Record<string, number>;
  /** Distinct event ids answered 202, and how many of them reached completed, failed or discarded. */
  accepted: number;
  finished: number;
  failures: { requests: RequestFailure[]; unfinished: UnfinishedEvent[]; health?: string };
  ok: boolean;
}

export interface FuzzOptions {
  apiUrl: string;
  databaseUrl: string;
  count: number;
  seed: number;
  concurrency: number;
  /** Credentials of a deployment that checks them; without, the API is taken to run open. */
  auth?: FuzzAuth;
  requestTimeoutMs?: number;
  /**
   * How long to go on waiting for accepted events when none has reached an end state for this
   * long: a busy pipeline is waited for, a stuck one is not.
   */
  stallTimeoutMs?: number;
  /** Requests answered so far, then accepted events ended so far. */
  onProgress?(stage: 'sent' | 'ended', done: number, of: number): void;
}

const END_STATES = ['completed', 'failed', 'discarded'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUBJECT = /^events\.(frontend|backend)\.[a-z0-9_]{1,100}\.[a-z0-9_]{1,100}$/;

type Answer = { status: number; text: string } | { error: string };

const bytes = (body: string | Buffer) => (typeof body === 'string' ? Buffer.from(body) : body);

async function send(apiUrl: string, r: HostileRequest, timeoutMs: number): Promise<Answer> {
  const body = bytes(r.body);
  try {
    // The body goes as bytes, so fetch adds no content type of its own: the headers are the request's.
    const res = await fetch(`${apiUrl}${r.path}`, {
      method: r.method,
      headers: r.headers,
      ...(r.method !== 'GET' && body.length > 0 && { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return { error: `no answer within ${timeoutMs} ms` };
    return { error: [e.message, e.cause?.code, e.cause?.message].filter(Boolean).join(': ') };
  }
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
/** Both ends of a long text: the trouble is often in the last field. */
const ends = (s: string) => (s.length > 450 ? `${s.slice(0, 250)} …(${s.length - 400} more chars)… ${s.slice(-150)}` : s);

/** The request as a reader needs it to reproduce the failure, without megabytes of padding. */
export function describeRequest(r: HostileRequest): string {
  const body = bytes(r.body);
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, clip(v, 120)]));
  return `${r.method} ${clip(r.path, 200)} headers ${JSON.stringify(headers)} body (${body.length} bytes) ${JSON.stringify(ends(body.toString('utf8')))}`;
}

function parse(text: string): Record<string, any> | undefined {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** What is wrong with a 4xx's body, if anything. */
function errorBodyProblem(body: Record<string, any> | undefined): string | undefined {
  if (!body) return 'the body is not a JSON object';
  const e = body.error;
  if (!e || typeof e !== 'object') return 'no "error" object';
  if (typeof e.code !== 'string' || !e.code) return 'no error.code';
  if (typeof e.message !== 'string' || !e.message) return 'no error.message';
  if (typeof body.request_id !== 'string' || !body.request_id) return 'no request_id';
  return undefined;
}

/** The event ids a 202 accepted (single, batch, operator), or what is wrong with it. */
function acceptedIds(body: Record<string, any> | undefined): { ids: string[] } | { problem: string } {
  if (!body) return { problem: 'the 202 body is not a JSON object' };
  const ids: string[] = [];
  const subjects: unknown[] = [];
  if (Array.isArray(body.results)) {
    for (const item of body.results) {
      if (item?.status === 'accepted' || item?.status === 'duplicate') ids.push(item.event_id);
      if (item?.status === 'accepted') subjects.push(item.subject);
    }
  } else {
    ids.push(body.event_id);
    if (body.subject !== undefined || body.status === 'pending') subjects.push(body.subject);
  }
  const badId = ids.find((id) => typeof id !== 'string' || !UUID.test(id));
  if (badId !== undefined) return { problem: `202 with an event id that is not a UUID: ${JSON.stringify(badId)}` };
  const badSubject = subjects.find((s) => typeof s !== 'string' || !SUBJECT.test(s));
  if (badSubject !== undefined)
    return { problem: `202 with a subject outside events.<source>.<category>.<type>: ${JSON.stringify(badSubject)}` };
  return { ids: ids.map((id) => id.toLowerCase()) };
}

const emptyCounts = (): ClassCounts => ({ sent: 0, '2xx': 0, '4xx': 0, '5xx': 0, dropped: 0 });

/** Waits until every id has a row in an end state, or until none gets there for `stallMs`; returns those that do not. */
async function unsettled(
  db: pg.Pool,
  ids: Map<string, string>,
  stallMs: number,
  onProgress: FuzzOptions['onProgress'],
): Promise<UnfinishedEvent[]> {
  let waiting = [...ids.keys()];
  let lastProgress = Date.now();
  const last = new Map<string, string>();
  for (;;) {
    const still: string[] = [];
    for (let i = 0; i < waiting.length; i += 5_000) {
      const slice = waiting.slice(i, i + 5_000);
      const { rows } = await db.query<{ id: string; status: string }>(
        'SELECT event_id::text AS id, status FROM events WHERE event_id = ANY($1::uuid[])',
        [slice],
      );
      const found = new Map(rows.map((r) => [r.id, r.status]));
      for (const id of slice) {
        const status = found.get(id);
        if (status !== undefined) last.set(id, status);
        if (status === undefined || !END_STATES.includes(status)) still.push(id);
      }
    }
    if (still.length < waiting.length) lastProgress = Date.now();
    waiting = still;
    onProgress?.('ended', ids.size - waiting.length, ids.size);
    if (waiting.length === 0 || Date.now() - lastProgress > stallMs) break;
    await sleep(1_000);
  }
  return waiting.map((eventId) => ({ eventId, status: last.get(eventId) ?? null, from: ids.get(eventId)! }));
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const timeoutMs = opts.requestTimeoutMs ?? 60_000;
  const byClass: Record<string, ClassCounts> = {};
  const total = emptyCounts();
  const statuses: Record<string, number> = {};
  const failures: FuzzReport['failures'] = { requests: [], unfinished: [] };
  /** Accepted event id → the request that got it accepted. */
  const accepted = new Map<string, string>();

  const requests = hostileRequests({ seed: opts.seed, count: opts.count, ...(opts.auth && { auth: opts.auth }) });
  let next = 0;
  const worker = async () => {
    for (let item = requests.next(); !item.done; item = requests.next()) {
      const index = next++;
      const r = item.value;
      const counts = (byClass[r.class] ??= emptyCounts());
      const tally = (key: keyof ClassCounts) => void (counts[key]++, total[key]++);
      const fail = (problem: string, extra: Partial<RequestFailure> = {}) =>
        void failures.requests.push({ index, class: r.class, problem, request: describeRequest(r), ...extra });
      tally('sent');

      const answer = await send(opts.apiUrl, r, timeoutMs);
      opts.onProgress?.('sent', index + 1, opts.count);
      if ('error' in answer) {
        tally('dropped');
        fail(`dropped: ${answer.error}`);
        continue;
      }
      const { status, text } = answer;
      statuses[status] = (statuses[status] ?? 0) + 1;
      const seen = { status, answer: clip(text) };
      const body = parse(text);
      if (status >= 500) {
        tally('5xx');
        fail(`server error ${status}`, seen);
        continue;
      }
      if (status >= 400) tally('4xx');
      else if (status >= 200 && status < 300) tally('2xx');
      else fail(`unexpected status ${status}`, seen);

      if (r.expect && !r.expect.includes(status)) fail(`expected ${r.expect.join(' or ')}, got ${status}`, seen);
      if (status >= 400) {
        const problem = errorBodyProblem(body);
        if (problem) fail(`${status} without the error body: ${problem}`, seen);
      } else if (status === 202) {
        const result = acceptedIds(body);
        if ('problem' in result) fail(result.problem, seen);
        else for (const id of result.ids) if (!accepted.has(id)) accepted.set(id, `#${index} ${r.class}: ${describeRequest(r)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));

  const db = new pg.Pool({ connectionString: opts.databaseUrl, max: 2 });
  try {
    failures.unfinished = await unsettled(db, accepted, opts.stallTimeoutMs ?? 60_000, opts.onProgress);
  } finally {
    await db.end();
  }

  const health = await fetch(`${opts.apiUrl}/health`, { signal: AbortSignal.timeout(10_000) }).then(
    async (res) => (res.status === 200 ? undefined : `GET /health answered ${res.status}: ${clip(await res.text())}`),
    (err: Error) => `GET /health failed: ${err.message}`,
  );
  if (health) failures.health = health;

  failures.requests.sort((a, b) => a.index - b.index);
  return {
    seed: opts.seed,
    byClass,
    total,
    statuses,
    accepted: accepted.size,
    finished: accepted.size - failures.unfinished.length,
    failures,
    ok: failures.requests.length === 0 && failures.unfinished.length === 0 && !health,
  };
}
