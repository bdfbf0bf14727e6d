import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStatusKey, EventTypeKey, EventSourceKey, EventCategoryKey } from '../src/workflows/definitions.js';
import { expectStoredAndProcessedOnce, get, post, testPool, testTemporal, waitForStatus } from './helpers.js';

describe('an event over HTTP, end to end', () => {
  let pool: pg.Pool;
  let temporal: Client;
  beforeAll(async () => {
    pool = testPool();
    temporal = await testTemporal();
  });
  afterAll(async () => {
    await pool.end();
    await temporal.connection.close();
  });

  it('is accepted with 202 and ends completed in PostgreSQL and in Temporal', async () => {
    const res = await post('/api/events/create', { event_type: 'user_created', data: { id: 1 }, user_id: 'u-1' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'pending', subject: 'events.backend.service.user_created', duplicate: false });
    const id = res.body.event_id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/); // a UUIDv7 made by the service

    const stored = await waitForStatus(id, 'completed');
    expect(stored).toMatchObject({
      event_id: id,
      event_type: 'user_created',
      event_source: 'backend',
      event_category: 'service',
      user_id: 'u-1',
      data: { id: 1 },
    });

    const history = await pool.query('SELECT status FROM event_status_history WHERE event_id = $1 ORDER BY seq', [id]);
    expect(history.rows.map((r) => r.status)).toEqual(['pending', 'processing', 'completed']);

    const status = await get(`/api/events/${id}/status`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ event_id: id, status: 'completed', workflow: { workflow_id: id, execution_status: 'COMPLETED' } });
    expect(status.body.transitions.map((t: { status: string }) => t.status)).toEqual(['pending', 'processing', 'completed']);
    expect(status.body.temporal_ui_url).toContain(`/namespaces/default/workflows/${id}/`);

    const description = await temporal.workflow.getHandle(id).describe();
    expect(description.typedSearchAttributes.get(EventStatusKey)).toBe('completed');
    expect(description.typedSearchAttributes.get(EventTypeKey)).toBe('user_created');
    expect(description.typedSearchAttributes.get(EventSourceKey)).toBe('backend');
    expect(description.typedSearchAttributes.get(EventCategoryKey)).toBe('service');
  });

  it('stores and processes an event posted twice with the same id once', async () => {
    const id = randomUUID();
    const body = { event_id: id, event_type: 'order_paid', data: { amount: 5 } };
    const first = await post('/api/events/create', body);
    const second = await post('/api/events/create', body);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(first.body).toMatchObject({ event_id: id, duplicate: false });
    expect(second.body).toMatchObject({ event_id: id, duplicate: true });

    await expectStoredAndProcessedOnce(pool, temporal, id);
  });

  it('answers 404 for an unknown event and for an unknown workflow', async () => {
    const id = randomUUID();
    expect((await get(`/api/events/${id}`)).status).toBe(404);
    const status = await get(`/api/events/${id}/status`);
    expect(status.status).toBe(404);
    expect(status.body.error.code).toBe('not_found');
  });

  it('reports every dependency healthy', async () => {
    const res = await get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('healthy');
    for (const name of ['nats', 'database', 'temporal', 'disk_space']) expect(res.body.checks[name].status).toBe('up');
  });
});
