import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto, ENCRYPTED_PLACEHOLDER, fieldCryptoFor } from '../src/crypto/field-crypto.js';
import { createKeyRing } from '../src/crypto/key-ring.js';
import { resealFields } from '../src/read-side/reseal-fields.js';
import { deleteUserEvents } from '../src/read-side/user-deletion.js';
import { AUTH_ENV, bearer, hs256 } from './auth-tokens.js';
import { eventually, post, stack, testPool, testTemporal, waitForStatus } from './helpers.js';
import { startApp, testConfig } from './in-process-app.js';
import { startReceiver } from './webhook-receiver.js';

// The test deployment stores `email` and `phone` encrypted (ENCRYPTED_FIELDS in
// test/stack-settings.ts). An event sent through the real API and worker must sit in PostgreSQL
// as ciphertext (what a backup copies), come back in clear only to a token with events:decrypt,
// be found by its email, and stay readable when the payload key ring rotates.

const uid = randomUUID().slice(0, 8);
const EMAIL = `Ada.${uid}@Example.com`;
const PHONE = `+44 20 7946 ${uid}`;
const USER = `encrypted-fields-${uid}`;
const started = new Date().toISOString();
const ENV = { ...AUTH_ENV, ENCRYPTED_FIELDS: 'email,phone' };
const TYPE = `signup_completed_${uid}`;

type Api = Awaited<ReturnType<typeof startApp>>;
let pool: pg.Pool;
let api: Api;
let eventId: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let subscriptionId: string;
const tokens: Record<'read' | 'decrypt' | 'admin' | 'adminDecrypt', string> = { read: '', decrypt: '', admin: '', adminDecrypt: '' };

const call = async (app: FastifyInstance, url: string, token: string) => {
  const res = await app.inject({ url, headers: bearer(token) });
  return { status: res.statusCode, body: res.json() };
};

beforeAll(async () => {
  pool = testPool();
  receiver = await startReceiver();
  const sub = await post('/api/subscriptions', { url: receiver.url, subjects: [`events.backend.service.${TYPE}`] });
  expect(sub.status).toBe(201);
  subscriptionId = sub.body.id;
  const res = await post('/api/events/create', {
    event_type: TYPE,
    service: 'accounts',
    user_id: USER,
    session_id: `s-${uid}`,
    data: { plan: 'pro', contact: { Email: EMAIL, phone: PHONE } },
    metadata: { form: 'signup', email: EMAIL },
  });
  expect(res.status).toBe(202);
  eventId = res.body.event_id;
  await waitForStatus(eventId, 'completed', 60_000);
  api = await startApp(ENV);
  tokens.read = await hs256({ scope: 'events:read' });
  tokens.decrypt = await hs256({ scope: 'events:read events:decrypt' });
  tokens.admin = await hs256({ scope: 'events:admin' });
  tokens.adminDecrypt = await hs256({ scope: 'events:admin events:decrypt' });
}, 120_000);

afterAll(async () => {
  await api?.close();
  if (subscriptionId) await fetch(`${stack().apiUrl}/api/subscriptions/${subscriptionId}`, { method: 'DELETE' });
  await receiver?.close();
  // Its rows may be sealed under a key only this test had: they must not outlive it.
  if (pool) await deleteUserEvents(pool, USER, 'encrypted-fields test');
  await pool?.end();
});

describe('fields encrypted at rest', () => {
  it('are ciphertext in the stored row, which is what a backup copies', async () => {
    // The row as COPY writes it, as a logical backup would.
    const row = (await pool.query('SELECT e::text AS line, data, data_key, field_hashes FROM events e WHERE event_id = $1', [eventId]))
      .rows[0];
    expect(row.line).toContain(TYPE);
    expect(row.data.plan).toBe('pro');
    for (const clear of [EMAIL, EMAIL.toLowerCase(), PHONE, PHONE.replaceAll(' ', '')]) expect(row.line).not.toContain(clear);
    expect(row.line).toContain('encrypted:v1:');
    expect(row.data_key).toMatch(new RegExp(`^${stack().payloadKeys.PAYLOAD_KEY_ID}:`));
    expect(row.field_hashes).toHaveLength(2); // the email (twice the same value) and the phone
  });

  it('come back in clear only to a token with events:decrypt, on every read route', async () => {
    const routes = [`/api/events/${eventId}`, `/api/events?user_id=${USER}`, `/api/users/${USER}/events`, `/api/sessions/s-${uid}`];
    for (const url of routes) {
      const pick = (body: any) => body.items?.[0] ?? body.events?.[0] ?? body;
      const clear = pick((await call(api.app, url, tokens.decrypt)).body);
      expect(clear.data).toEqual({ plan: 'pro', contact: { Email: EMAIL, phone: PHONE } });
      expect(clear.metadata.email).toBe(EMAIL);
      for (const token of [tokens.read, tokens.admin]) {
        const masked = pick((await call(api.app, url, token)).body);
        expect(masked.data).toEqual({ plan: 'pro', contact: { Email: ENCRYPTED_PLACEHOLDER, phone: ENCRYPTED_PLACEHOLDER } });
        expect(masked.metadata.email).toBe(ENCRYPTED_PLACEHOLDER);
      }
    }
  });

  it('find an event by its email through a keyed hash, and only with the scope', async () => {
    const byEmail = (token: string, value = EMAIL.toUpperCase()) =>
      call(api.app, `/api/events?field=email&value=${encodeURIComponent(value)}`, token);
    const found = await byEmail(tokens.decrypt);
    expect(found.status).toBe(200);
    expect(found.body.items.map((e: { event_id: string }) => e.event_id)).toEqual([eventId]);
    expect((await byEmail(tokens.decrypt, `nobody-${uid}@example.com`)).body.items).toEqual([]);
    expect((await byEmail(tokens.read)).status).toBe(403);
    const contains = await call(
      api.app,
      `/api/events?data=${encodeURIComponent(JSON.stringify({ contact: { email: EMAIL } }))}`,
      tokens.decrypt,
    );
    expect(contains.status).toBe(400);
    expect(contains.body.error.message).toMatch(/field=email&value=/);
  });

  it('reach webhook subscribers in clear: the data is for them, and a delivery stores no payload', async () => {
    const [delivery] = await eventually(async () => (receiver.deliveredOk(eventId).length ? receiver.deliveredOk(eventId) : undefined));
    expect(JSON.parse(delivery!.body).data.contact).toEqual({ Email: EMAIL, phone: PHONE });
    const stored = await pool.query('SELECT d::text AS line FROM webhook_deliveries d WHERE event_id = $1', [eventId]);
    expect(stored.rows.map((r) => r.line).join()).toContain('delivered');
    expect(stored.rows.map((r) => r.line).join()).not.toContain(EMAIL);
  });

  it("are masked in Temporal's payloads too when the codec endpoint decodes them without the scope", async () => {
    const temporal = await testTemporal();
    try {
      const history = await temporal.workflow.getHandle(eventId).fetchHistory();
      const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
      const payload = {
        metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, b64(v)])),
        data: b64(input.data!),
      };
      const decode = async (token: string) => {
        const res = await api.app.inject({
          method: 'POST',
          url: '/codec/decode',
          headers: bearer(token),
          payload: { payloads: [payload] },
        });
        expect(res.statusCode).toBe(200);
        return Buffer.from(res.json().payloads[0].data, 'base64').toString('utf8');
      };
      const masked = await decode(tokens.admin);
      expect(masked).toContain(eventId);
      expect(masked).toContain(ENCRYPTED_PLACEHOLDER);
      expect(masked).not.toContain(EMAIL);
      expect(await decode(tokens.adminDecrypt)).toContain(EMAIL);
    } finally {
      await temporal.connection.close();
    }
  });

  it('stay readable and findable after the key ring rotates, and the old key can go once resealed', async () => {
    const { PAYLOAD_KEYS, PAYLOAD_KEY_ID } = stack().payloadKeys;
    const newKey = `rotated-${uid}:${randomBytes(32).toString('base64')}`;
    const newKeyId = newKey.split(':')[0]!;
    const rotated = await startApp({ ...ENV, PAYLOAD_KEYS: `${PAYLOAD_KEYS},${newKey}`, PAYLOAD_KEY_ID: newKeyId });
    try {
      const read = await call(rotated.app, `/api/events?field=phone&value=${encodeURIComponent(PHONE)}`, tokens.decrypt);
      expect(read.body.items[0].data.contact.Email).toBe(EMAIL);

      // `npm run fields:reseal` over this test's time range: the row moves under the new key.
      const fields = fieldCryptoFor(testConfig({ ...ENV, PAYLOAD_KEYS: `${PAYLOAD_KEYS},${newKey}`, PAYLOAD_KEY_ID: newKeyId }))!;
      const result = await resealFields({ pool, fields, from: started });
      expect(result.resealed).toBeGreaterThanOrEqual(1);
      const row = (await pool.query('SELECT data_key, field_hashes FROM events WHERE event_id = $1', [eventId])).rows[0];
      expect(row.data_key.startsWith(`${newKeyId}:`)).toBe(true);
      expect(row.field_hashes.every((h: string) => h.startsWith(`${newKeyId}:`))).toBe(true);
      expect((await resealFields({ pool, fields, from: started })).resealed).toBe(0);
    } finally {
      await rotated.close();
    }
    const onlyNew = await startApp({ ...ENV, PAYLOAD_KEYS: newKey, PAYLOAD_KEY_ID: newKeyId });
    try {
      const found = await call(onlyNew.app, `/api/events?field=email&value=${encodeURIComponent(EMAIL)}`, tokens.decrypt);
      expect(found.body.items.map((e: { event_id: string; data: any }) => [e.event_id, e.data.contact.phone])).toEqual([[eventId, PHONE]]);
    } finally {
      await onlyNew.close();
    }
    // The deployment's own key no longer opens the row: it is sealed under the new key alone.
    expect((await call(api.app, `/api/events/${eventId}`, tokens.decrypt)).status).toBe(500);
    expect(PAYLOAD_KEY_ID).not.toBe(newKeyId);
  });

  it('cost little per event (printed, not asserted)', () => {
    const fields = createFieldCrypto(createKeyRing({ keys: [{ id: 'k', key: randomBytes(32).toString('base64') }] }), ['email', 'phone']);
    const event = { event_id: randomUUID(), data: { plan: 'pro', contact: { email: EMAIL, phone: PHONE } }, metadata: { page: '/' } };
    const plain = { ...event, data: { plan: 'pro', contact: { name: 'Ada' } } };
    const time = (work: () => void, n = 5_000) => {
      const t = performance.now();
      for (let i = 0; i < n; i++) work();
      return ((performance.now() - t) * 1000) / n;
    };
    const sealed = fields.seal(event);
    const row = { ...event, data: sealed.data, metadata: sealed.metadata, data_key: sealed.dataKey };
    console.log(
      `encrypted fields per event: seal ${time(() => fields.seal(event)).toFixed(1)} µs, open ${time(() => fields.open(row, 'clear')).toFixed(1)} µs, ` +
        `an event without them ${time(() => fields.seal(plain)).toFixed(1)} µs`,
    );
  });
});
