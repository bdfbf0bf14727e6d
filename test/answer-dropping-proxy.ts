import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

// A proxy in front of the API that forwards every request and, for the first `dropAnswers`
// POSTs, loses the API's answer on the way back (the client gets a 503 instead): the request
// was stored, the client does not know it, and retries. What a timeout or a dying load balancer
// does to a real client.

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startAnswerDroppingProxy(target: string, dropAnswers: number) {
  const seen: { path: string; apiStatus: number; clientStatus: number }[] = [];
  let dropsLeft = dropAnswers;
  const server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      const headers = Object.fromEntries(
        Object.entries(req.headers)
          .filter(([k]) => !['host', 'connection', 'content-length'].includes(k))
          .map(([k, v]) => [k, String(v)]),
      );
      const answer = await fetch(`${target}${req.url}`, { method: req.method!, headers, ...(body.length > 0 && { body }) });
      const text = await answer.text();
      const drop = req.method === 'POST' && dropsLeft > 0;
      if (drop) dropsLeft--;
      seen.push({ path: req.url ?? '', apiStatus: answer.status, clientStatus: drop ? 503 : answer.status });
      if (drop)
        return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"proxy","message":"answer lost"}}');
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
