import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// Ports for the services a test or bench deployment starts. Not the OS's pick (listen on 0): that
// comes from the ephemeral range, which outgoing connections draw from too, and one of them can
// take the port before the service binds it (seen in CI: PostgreSQL "Address already in use").
// Below Linux's ephemeral range (32768-60999) only listeners compete, and this process never
// hands out the same port twice.
const RANGE = { from: 20_000, to: 32_767 };
const handedOut = new Set<number>();

export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = RANGE.from + Math.floor(Math.random() * (RANGE.to - RANGE.from + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await isPortFree(port, host)) return port;
  }
  throw new Error(`no free port found between ${RANGE.from} and ${RANGE.to}`);
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true; rejects after `timeoutMs`, or as soon as `signal` aborts. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    signal?.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs, undefined, { signal });
  }
}
