import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../src/events/redact.js';
import { post, stack, testPayloadCodec, testPool, testTemporal, waitForStatus } from './helpers.js';
import { pino } from 'pino';
import { startApp } from './in-process-app.js';

// A sensitive value sent by a producer must be in none of the places an event lives: the stream,
// Temporal history, the database and the API's logs. Each secret is unique to this run, so
// finding it anywhere can only mean it leaked; each layer is also shown to hold the event's
// harmless marker, so "not found" cannot come from looking in the wrong place.

const uid = () => randomUUID().replaceAll('-', '').slice(0, 12);

function sensitiveEvent() {
  const secrets = [`pw-${uid()}`, `ssn-${uid()}`, `cc-${uid()}`, `meta-${uid()}`];
  const marker = `marker-${uid()}`;
  const data = {
    marker,
    user: { Password: secrets[0], profile: { SSN: secrets[1], name: 'Ada' } },
    cards: [{ credit_card: secrets[2], last4: '1111' }],
  };
  const metadata = { page_url: 'https://shop.example/signup', form: { PASSWORD: secrets[3] } };
  return { secrets, marker, data, metadata, eventType: `redact_${uid()}` };
}

const isPayload = (v: unknown): v is Payload =>
  typeof v === 'object' && v !== null && (v as Payload).data instanceof Uint8Array && typeof (v as Payload).metadata === 'object';

/** The workflow's whole history as JSON, with every payload decrypted and shown as text. */
async function historyText(temporal: Client, workflowId: string, codec: PayloadCodec | undefined): Promise<string> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const open = async (value: unknown): Promise<unknown> => {
    if (isPayload(value)) {
      const [clear] = codec ? await codec.decode([value]) : [value];
      return Buffer.from(clear!.data ?? []).toString('utf8');
    }
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (Array.isArray(value)) return Promise.all(value.map(open));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await open(v);
      return out;
    }
    return value;
  };
  return JSON.stringify(await open(history));
}

describe('sensitive fields', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let pool: pg.Pool;
  let temporal: Client;
  let codec: PayloadCodec | undefined;
  beforeAll(async () => {
    nc = await connect({ servers: stack().natsUrl });
    jsm = await jetstreamManager(nc);
    pool = testPool();
    temporal = await testTemporal();
    codec = testPayloadCodec();
  });
  afterAll(async () => {
    await nc.close();
    await pool.end();
    await temporal.connection.close();
  });

  const producers = [
    [
      'a frontend event',
      (e: ReturnType<typeof sensitiveEvent>) =>
        post('/api/frontend/events', { event_type: e.eventType, category: 'business_action', data: e.data, metadata: e.metadata }),
    ],
    [
      'an event of a frontend batch',
      (e: ReturnType<typeof sensitiveEvent>) =>
        post('/api/frontend/events', {
          events: [
            { event_type: e.eventType, category: 'user_interaction', data: e.data, metadata: e.metadata },
            { event_type: 'bad.name', category: 'user_interaction' },
          ],
        }),
    ],
    [
      'a backend event',
      (e: ReturnType<typeof sensitiveEvent>) =>
        post('/api/events/create', { event_type: e.eventType, service: 'accounts', data: e.data, metadata: e.metadata }),
    ],
  ] as const;

  it.each(producers)('never reach the stream, Temporal or the database from %s', async (_name, send) => {
    const e = sensitiveEvent();
    const res = await send(e);
    expect(res.status).toBe(202);
    const id = (res.body.event_id ?? res.body.results[0].event_id) as string;
    const layers: Record<string, string> = {};

    const subject = (res.body.subject ?? res.body.results[0].subject) as string;
    const msg = await jsm.streams.getMessage('EVENTS', { last_by_subj: subject });
    layers.stream = new TextDecoder().decode(msg!.data);
    expect(JSON.parse(layers.stream).event_id).toBe(id);

    const stored = await waitForStatus(id, 'completed');
    expect(stored.data.user.Password).toBe(REDACTED);
    expect(stored.data.cards[0]).toEqual({ credit_card: REDACTED, last4: '1111' });
    expect(stored.metadata.form.PASSWORD).toBe(REDACTED);
    const row = await pool.query('SELECT row_to_json(e)::text AS json FROM events e WHERE event_id = $1', [id]);
    layers.database = row.rows[0].json;
    const history = await pool.query(
      'SELECT coalesce(string_agg(row_to_json(h)::text, $2), $2) AS json FROM event_status_history h WHERE event_id = $1',
      [id, ''],
    );
    layers.database += history.rows[0].json;

    layers.temporal = await historyText(temporal, id, codec);

    for (const [layer, text] of Object.entries(layers)) {
      expect(text, `${layer} holds the event`).toContain(e.marker);
      expect(text, `${layer} holds the redaction mark`).toContain(REDACTED);
      for (const secret of e.secrets) expect(text, `${layer} leaks ${secret}`).not.toContain(secret);
    }
  });
});

describe('sensitive fields in the API logs', () => {
  it('are absent from every log line, even at trace level and for refused events', async () => {
    let logged = '';
    const capture = new Writable({
      write(chunk, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const api = await startApp({}, pino({ level: 'trace' }, capture));
    try {
      const e = sensitiveEvent();
      const frontend = { event_type: e.eventType, category: 'business_action', data: e.data, metadata: e.metadata };
      const send = (url: string, payload: object) =>
        api.app.inject({ method: 'POST', url, payload, headers: { 'user-agent': 'redaction-test' } });

      const single = await send('/api/frontend/events', frontend);
      const batch = await send('/api/frontend/events', { events: [frontend, { ...frontend, event_type: 'Bad Name' }] });
      const backend = await send('/api/events/create', { event_type: e.eventType, data: e.data, metadata: e.metadata });
      const refused = await send('/api/frontend/events', { ...frontend, colour: 'red' });
      const refusedBatch = await send('/api/frontend/events', { events: [{ ...frontend, category: 'nope' }] });
      expect([single, batch, backend, refused, refusedBatch].map((r) => r.statusCode)).toEqual([202, 202, 202, 400, 400]);

      // The capture works: the accepted events' debug lines are there.
      for (const id of [single.json().event_id, batch.json().results[0].event_id, backend.json().event_id]) expect(logged).toContain(id);
      for (const secret of e.secrets) expect(logged).not.toContain(secret);
    } finally {
      await api.close();
    }
  });
});
