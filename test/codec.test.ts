import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, stack, testTemporal, waitForStatus } from './helpers.js';
import { startApp } from './in-process-app.js';

// Event data must reach Temporal's database only as ciphertext, and operators must still be able
// to read it through the API's codec endpoint (what the Temporal UI calls).

type ProtoPayload = { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null };
type JsonPayload = { metadata?: Record<string, string>; data?: string };

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();
const toJson = (p: ProtoPayload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  ...(p.data?.length && { data: Buffer.from(p.data).toString('base64') }),
});
const fromBase64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();

/** Every string and byte string in the history, bytes read as text, so clear JSON payloads show. */
function textIn(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('latin1');
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '';
  return Object.entries(value)
    .map(([k, v]) => `${k}=${textIn(v)}`)
    .join('\n');
}

/**
 * Every `payloads` list in the history: workflow input and result, activity input and results,
 * local activity results. Skipped: what the SDK writes itself and never passes to a codec — the
 * data of core's local-activity markers (sequence numbers and timings) and of patch markers (the
 * patch id), neither holding event data.
 */
function payloadsIn(value: unknown, path = '', found: ProtoPayload[] = []): ProtoPayload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return found;
  for (const [key, child] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (/markerRecordedEventAttributes\.details\.(data|patch-data)$/.test(at)) continue;
    if (key === 'payloads' && Array.isArray(child)) found.push(...(child as ProtoPayload[]));
    else payloadsIn(child, at, found);
  }
  return found;
}

describe('payloads encrypted in Temporal', () => {
  let temporal: Client;
  const uiOrigin = () => new URL(stack().temporalUiUrl).origin;

  beforeAll(async () => {
    temporal = await testTemporal();
  });
  afterAll(async () => {
    await temporal?.connection.close();
  });

  it('keeps event data out of the workflow history, and decodes it for the UI', async () => {
    const secret = `codec-secret-${randomUUID()}`;
    const res = await post('/api/events/create', { event_type: 'codec_test', data: { note: secret } });
    expect(res.status).toBe(202);
    const id = res.body.event_id as string;
    await waitForStatus(id, 'completed');

    // A client without the codec sees what Temporal stores.
    const history = await temporal.workflow.getHandle(id).fetchHistory();
    const stored = textIn(history);
    expect(stored).not.toContain(secret);
    // The search attributes are not payload data and stay readable: proof the search above could see clear text.
    expect(stored).toContain('codec_test');

    const payloads = payloadsIn(history.events);
    expect(payloads.length).toBeGreaterThan(2);
    for (const p of payloads) {
      expect(text(p.metadata?.encoding)).toBe('binary/encrypted');
      expect(text(p.metadata?.['encryption-key-id'])).not.toBe('');
    }

    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const decoded = await fetch(`${stack().apiUrl}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: uiOrigin() },
      body: JSON.stringify({ payloads: [toJson(input)] }),
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(uiOrigin());
    const [clear] = ((await decoded.json()) as { payloads: JsonPayload[] }).payloads;
    expect(fromBase64(clear!.metadata!.encoding)).toBe('json/plain');
    expect(JSON.parse(fromBase64(clear!.data))).toMatchObject({ event: { event_id: id, data: { note: secret } } });
  });

  it('encodes for the UI, and decodes what it encoded', async () => {
    const clear = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('{"sent":"from the UI"}').toString('base64'),
    };
    const encoded = await codecCall('encode', [clear]);
    expect(fromBase64(encoded.body.payloads[0].metadata.encoding)).toBe('binary/encrypted');
    // `temporal --codec-endpoint` sends the namespace header empty.
    const decoded = await codecCall('decode', encoded.body.payloads, { 'x-namespace': '' });
    expect(decoded.body.payloads).toEqual([clear]);
  });

  it('answers a tampered payload with 400 and the reason', async () => {
    const encoded = await codecCall('encode', [
      { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('1').toString('base64') },
    ]);
    const payload = encoded.body.payloads[0];
    const bytes = Buffer.from(payload.data, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    const res = await codecCall('decode', [{ ...payload, data: bytes.toString('base64') }]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: { code: 'codec_error', message: expect.stringContaining('failed authentication') },
      request_id: expect.any(String),
    });
  });

  it('refuses another namespace', async () => {
    const res = await codecCall('decode', [], { 'x-namespace': 'someone-else' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('wrong_namespace');
  });

  it('lets the Temporal UI origin preflight, and no other', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack().apiUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace,authorization',
        },
      });
    const ok = await preflight(uiOrigin());
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(uiOrigin());
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = ok.headers
      .get('access-control-allow-headers')!
      .split(',')
      .map((h) => h.trim());
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'x-namespace', 'authorization']));

    const foreign = await preflight('http://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  describe('with authentication on', () => {
    const secret = `codec-test-${randomUUID()}`;
    let app: FastifyInstance;
    let close: () => Promise<void>;
    const token = (scope: string) =>
      new SignJWT({ scope }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    const decode = async (authorization?: string) =>
      app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: { origin: uiOrigin(), 'x-namespace': 'default', ...(authorization && { authorization }) },
        payload: { payloads: [] },
      });

    beforeAll(async () => {
      ({ app, close } = await startApp({
        AUTH_JWT_SECRET: secret,
        PAYLOAD_KEYS: `t:${randomBytes(32).toString('base64')}`,
        CODEC_CORS_ORIGINS: uiOrigin(),
      }));
    });
    afterAll(async () => {
      await close?.();
    });

    it('needs a token with events:admin; refusals still carry CORS headers for the UI', async () => {
      const none = await decode();
      expect(none.statusCode).toBe(401);
      expect(none.headers['access-control-allow-origin']).toBe(uiOrigin());

      const reader = await decode(`Bearer ${await token('events:read')}`);
      expect(reader.statusCode).toBe(403);

      const admin = await decode(`Bearer ${await token('events:admin')}`);
      expect(admin.statusCode).toBe(200);
      expect(admin.json()).toEqual({ payloads: [] });
    });

    it('answers the preflight without a token', async () => {
      const res = await app.inject({
        method: 'OPTIONS',
        url: '/codec/decode',
        headers: { origin: uiOrigin(), 'access-control-request-method': 'POST' },
      });
      expect(res.statusCode).toBe(204);
    });
  });
});

async function codecCall(op: 'encode' | 'decode', payloads: unknown[], headers: Record<string, string> = {}) {
  const res = await fetch(`${stack().apiUrl}/codec/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body: JSON.stringify({ payloads }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
