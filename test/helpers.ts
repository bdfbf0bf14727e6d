import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import pg from 'pg';
import { expect, inject } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createPayloadCodec } from '../src/temporal/codec.js';
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
  return eventually(
    async () => {
      const res = await get(`/api/events/${eventId}`);
      return res.status === 200 && res.body.status === status ? res.body : undefined;
    },
    timeoutMs,
    `event ${eventId} to be ${status}`,
  );
}

export function testPool(): pg.Pool {
  return new pg.Pool({ connectionString: stack().databaseUrl, max: 2 });
}

/** The payload key the test deployment encrypts Temporal payloads with, if it does. */
export function testPayloadCodec(): PayloadCodec | undefined {
  const provided = stack().payloadKeys;
  const file = join(loadConfig().dev.testDataDir, 'payload-key');
  const keys = provided?.PAYLOAD_KEYS ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
  if (!keys) return undefined;
  return createPayloadCodec(
    loadConfig({ PAYLOAD_KEYS: keys, ...(provided?.PAYLOAD_KEY_ID && { PAYLOAD_KEY_ID: provided.PAYLOAD_KEY_ID }) }),
  );
}

/** A client of the test deployment's Temporal; with `readPayloads`, it decrypts them as the Temporal UI does. */
export async function testTemporal({ readPayloads = false } = {}): Promise<Client> {
  const connection = await Connection.connect({ address: stack().temporalAddress });
  const codec = readPayloads ? testPayloadCodec() : undefined;
  return new Client({ connection, ...(codec && { dataConverter: { payloadCodecs: [codec] } }) });
}

/** Once completed: exactly one row, one workflow run, and one completed transition. */
export async function expectStoredAndProcessedOnce(pool: pg.Pool, temporal: Client, id: string) {
  await waitForStatus(id, 'completed');
  const rows = await pool.query('SELECT count(*)::int AS n FROM events WHERE event_id = $1', [id]);
  expect(rows.rows[0].n).toBe(1);
  const runs = await eventually(async () => {
    const found = [];
    for await (const wf of temporal.workflow.list({ query: `WorkflowId = '${id}'` })) found.push(wf);
    return found.length > 0 ? found : undefined;
  });
  expect(runs).toHaveLength(1);
  const completed = await pool.query("SELECT count(*)::int AS n FROM event_status_history WHERE event_id = $1 AND status = 'completed'", [
    id,
  ]);
  expect(completed.rows[0].n).toBe(1);
}
