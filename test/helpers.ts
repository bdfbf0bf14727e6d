import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { inject } from 'vitest';
import './stack-settings.js';

export const stack = () => inject('stack');

export async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack().apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

export async function get(path: string) {
  const res = await fetch(`${stack().apiUrl}${path}`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function waitForStatus(eventId: string, status: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const res = await get(`/api/events/${eventId}`);
    return res.status === 200 && res.body.status === status ? res.body : undefined;
  }, timeoutMs, `event ${eventId} to be ${status}`);
}

export function testPool(): pg.Pool {
  return new pg.Pool({ connectionString: stack().databaseUrl, max: 2 });
}

export async function testTemporal(): Promise<Client> {
  const connection = await Connection.connect({ address: stack().temporalAddress });
  return new Client({ connection });
}
