import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Two local origins, as a real site has them: the page's (which serves the SDK build and a test
// page) and the API's, reached through a proxy that forwards to the real API and can, when the
// test says so, fail the way networks and overloaded services do. Every event batch that reaches
// the proxy is recorded with the ids it carried.

export interface SeenRequest {
  at: number;
  contentType: string;
  writeKeyHeader: boolean;
  writeKeyInBody: boolean;
  eventIds: string[];
  /** What the browser got: 0 when the proxy cut the connection. */
  status: number;
  /** Whether the real API saw the request. */
  forwarded: boolean;
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>SDK test page</title><script>
// Which page events the SDK listens to (an unload listener would keep the page out of the back-forward cache).
window.listened = [];
for (const target of [window, document]) {
  const add = target.addEventListener.bind(target);
  target.addEventListener = (type, ...rest) => (window.listened.push(type), add(type, ...rest));
}
</script><script src="/sdk.js"></script></head><body><script>
const q = new URLSearchParams(location.search);
const n = (k, d) => Number(q.get(k) || d);
window.reports = [];
window.client = EventService.init({ endpoint: q.get('endpoint'), writeKey: q.get('key'), name: q.get('name'),
  batchSize: n('batch', 50), flushIntervalMs: n('interval', 5000), maxQueueSize: n('cap', 1000),
  retry: { baseMs: n('retryBase', 1000), maxMs: n('retryMax', 60000) }, onReport: (r) => window.reports.push(r) });
// Headless Chromium never hides a tab by itself: this tells the page what a tab switch would.
window.setVisibility = (state) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
};
</script></body></html>`;

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function idsIn(body: Buffer): { ids: string[]; keyInBody: boolean } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { events?: { event_id?: string }[]; write_key?: string };
    return { ids: (parsed.events ?? []).map((e) => String(e.event_id)), keyInBody: typeof parsed.write_key === 'string' };
  } catch {
    return { ids: [], keyInBody: false };
  }
}

export async function startSdkSite(opts: { sdkCode: string; writeKey: string }) {
  let apiUrl = '';
  const site = createServer((req, res) => {
    if (req.url === '/sdk.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(opts.sdkCode);
    if (req.url?.startsWith('/page.html')) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    res.writeHead(404).end();
  });
  const origin = await listen(site);

  const seen: SeenRequest[] = [];
  let down = false;
  let failures: { forward: boolean; retryAfter: number }[] = [];

  async function forward(req: IncomingMessage, body: Buffer) {
    const headers = Object.fromEntries(
      Object.entries(req.headers)
        .filter(([k]) => !['host', 'connection', 'content-length'].includes(k))
        .map(([k, v]) => [k, String(v)]),
    );
    const res = await fetch(`${apiUrl}${req.url}`, { method: req.method!, headers, ...(body.length > 0 && { body }) });
    const out = Object.fromEntries(
      [...res.headers].filter(([k]) => !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)),
    );
    return { status: res.status, headers: out, body: Buffer.from(await res.arrayBuffer()) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const body = await bodyOf(req);
    const batch = req.method === 'POST' && req.url === '/api/frontend/events';
    const { ids, keyInBody } = batch ? idsIn(body) : { ids: [], keyInBody: false };
    const record = (status: number, forwarded: boolean) =>
      batch &&
      seen.push({
        at: Date.now(),
        contentType: String(req.headers['content-type'] ?? ''),
        writeKeyHeader: req.headers['x-write-key'] !== undefined,
        writeKeyInBody: keyInBody,
        eventIds: ids,
        status,
        forwarded,
      });
    if (down) {
      record(0, false);
      return void req.socket.destroy();
    }
    const failure = batch ? failures.shift() : undefined;
    if (!failure) {
      const answer = await forward(req, body);
      record(answer.status, true);
      return void res.writeHead(answer.status, answer.headers).end(answer.body);
    }
    // An overloaded service, seen from the browser: CORS headers kept, so the page can read the 503 and its Retry-After.
    const cors = {
      'access-control-allow-origin': String(req.headers.origin ?? '*'),
      'access-control-expose-headers': 'retry-after',
      vary: 'Origin',
    };
    const headers = failure.forward ? (await forward(req, body)).headers : cors;
    record(503, failure.forward);
    res
      .writeHead(503, { ...headers, 'content-type': 'application/json', 'retry-after': String(failure.retryAfter) })
      .end(JSON.stringify({ error: { code: 'stream_unavailable', message: 'injected by the test proxy' }, request_id: randomUUID() }));
  }

  const proxy = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.writeHead(502).end(String(err)));
  });
  const apiOrigin = await listen(proxy);

  return {
    /** Where the proxy forwards to (the API is started once the page origin is known, for its CORS_ORIGINS). */
    connect(url: string) {
      apiUrl = url;
    },
    origin,
    apiOrigin,
    seen,
    pageUrl: (params: Record<string, string | number>) =>
      `${origin}/page.html?${new URLSearchParams({ endpoint: apiOrigin, key: opts.writeKey, ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) })}`,
    /** The next `count` batches get 503 with Retry-After; with `forwardFirst` the first reaches the API (its events are stored) and only its answer is lost. */
    failNext(count: number, o: { retryAfter?: number; forwardFirst?: boolean } = {}) {
      failures = Array.from({ length: count }, (_, i) => ({ forward: Boolean(o.forwardFirst) && i === 0, retryAfter: o.retryAfter ?? 1 }));
    },
    /** Cuts every connection to the API: the browser sees a network error. */
    setDown(value: boolean) {
      down = value;
    },
    async close() {
      await Promise.all([close(site), close(proxy)]);
    },
  };
}

export type SdkSite = Awaited<ReturnType<typeof startSdkSite>>;
