import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  answered: number;
  /** When it arrived (Date.now()). */
  at: number;
}

/**
 * A real HTTP receiver standing in for a subscriber service. `respond` decides each answer
 * (status, an optional delay and headers), from the request's number and the request itself, and can be
 * changed while the test runs.
 */
export async function startReceiver(
  respond: (
    n: number,
    request: Omit<Received, 'answered' | 'at'>,
  ) => { status: number; delayMs?: number; headers?: Record<string, string> } = () => ({ status: 200 }),
) {
  const received: Received[] = [];
  let answer = respond;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const { status, delayMs = 0, headers } = answer(received.length + 1, request);
      received.push({ ...request, answered: status, at: Date.now() });
      setTimeout(() => res.writeHead(status, headers).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    deliveredOk: (eventId: string) => received.filter((r) => r.headers['x-event-id'] === eventId && r.answered < 300),
    to: (eventId: string) => received.filter((r) => r.headers['x-event-id'] === eventId),
    setResponder(next: typeof respond) {
      answer = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
