import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The benches' webhook subscriber: a receiver on loopback that answers 200 at once and counts
// what it got, subscribed through the API to one subject.

export interface Receiver {
  delivered(): number;
  close(): void;
}

export async function subscribe(apiUrl: string, subject: string): Promise<Receiver> {
  let delivered = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      delivered++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const sub = await fetch(`${apiUrl}/api/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, subjects: [subject], secret: 'bench-secret-0123456789' }),
  });
  if (sub.status !== 201) {
    server.close();
    throw new Error(`subscription: HTTP ${sub.status} ${await sub.text()}`);
  }
  return { delivered: () => delivered, close: () => server.close() };
}
