import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type FailoverDeployment, runFailoverDrill, startFailoverDeployment } from './failover/pg-failover.js';
import { parseMetrics } from './metrics-text.js';

// docs/disaster-recovery.md, "Read replica and PostgreSQL failover": a deployment of its own with a
// synchronous streaming replica. First the read side is shown to read the replica (its replay
// paused, it lags, and the query API lags with it while writes go on), then the failover drill.
describe('PostgreSQL read replica and failover', () => {
  let d: FailoverDeployment;
  beforeAll(async () => {
    const { dev } = loadConfig();
    const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-pg-failover`);
    await rm(dataDir, { recursive: true, force: true });
    d = await startFailoverDeployment({
      dataDir,
      cacheDir: dev.cacheDir,
      ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
      mode: 'sync',
      // An outage of the database longer than processing's 5 s pauses the webhook subscriber (its
      // deliveries in flight time out); it resumes at its first probe, soon here so that the test stays short.
      env: { LOG_LEVEL: 'fatal', SUBSCRIBER_PROBE_INITIAL: '2s' },
      log: createLogger('pg-failover', 'error'),
    });
  }, 240_000);
  afterAll(async () => {
    await d?.stop();
  });

  it('serves the query API from DATABASE_READ_URL and never writes there', async () => {
    const replica = new pg.Client({ connectionString: d.replicaUrl });
    await replica.connect();
    const eventType = `replica_read_${Date.now()}`;
    const listed = async () =>
      ((await (await fetch(`${d.apiUrl}/api/events?event_type=${eventType}`)).json()) as { items: { event_id: string }[] }).items.length;
    const metrics = async () => (await fetch(`${d.apiUrl}/metrics`)).text();
    try {
      // The replica keeps receiving the WAL (synchronous commits still return) but shows nothing new.
      await replica.query('SELECT pg_wal_replay_pause()');
      const posted = await fetch(`${d.apiUrl}/api/events/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event_type: eventType, user_id: 'u-replica', data: { n: 1 } }),
      });
      expect(posted.status).toBe(202);
      const { event_id } = (await posted.json()) as { event_id: string };
      // Written (stored, completed) on the primary, which GET /api/events/:id reads...
      await until(
        async () => ((await (await fetch(`${d.apiUrl}/api/events/${event_id}`)).json()) as { status?: string }).status === 'completed',
      );
      // ...a write through the API works too (the user deletion, on the primary)...
      expect((await fetch(`${d.apiUrl}/api/users/u-nobody/events`, { method: 'DELETE' })).status).toBe(200);
      // ...while the query API, reading the paused replica, does not see the event yet, and the lag shows.
      expect(await listed()).toBe(0);
      const lagging = await metrics();
      expect(sample(lagging, 'event_service_db_replica_lag_bytes')).toBeGreaterThan(0);
      expect(sample(lagging, 'event_service_db_replica_up')).toBe(1);

      await replica.query('SELECT pg_wal_replay_resume()');
      await until(async () => (await listed()) === 1);
      await until(async () => sample(await metrics(), 'event_service_db_replica_lag_seconds') === 0);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await replica.end();
    }
  }, 60_000);

  it('loses no acknowledged event when the primary is killed -9 and the replica promoted under load', async () => {
    const r = await runFailoverDrill(d, { rate: 20, seconds: 10, drainTimeoutMs: 120_000 });
    console.log(
      `PostgreSQL failover drill: ${r.acked} events acked, recovery point ${r.lost} acked events lost, ${r.duplicated} duplicated; ` +
        `promoted ${r.promotedAfterMs} ms after the kill, API and worker healthy ${r.recoverMs} ms after it, ` +
        `longest stretch without a completion ${r.processingStallMs} ms`,
      r.lost > 0 ? { backlog: r.backlog, lostSample: r.lostSample } : '',
    );
    expect(r.acked).toBeGreaterThan(0);
    // Nothing restarts them in this deployment: a crash would otherwise show as lost events.
    expect(d.exited).toEqual([]);
    expect({ lost: r.lost, duplicated: r.duplicated, undelivered: r.undelivered, deadLettered: r.deadLettered }).toEqual({
      lost: 0,
      duplicated: 0,
      undelivered: 0,
      deadLettered: 0,
    });
    // The promoted replica is the primary now: the API writes to it and reads from it.
    const promoted = new pg.Client({ connectionString: d.replicaUrl });
    await promoted.connect();
    try {
      expect((await promoted.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby).toBe(false);
    } finally {
      await promoted.end();
    }
  }, 240_000);
});

/** One unlabelled gauge's value, undefined when it has no sample. */
function sample(text: string, name: string): number | undefined {
  return parseMetrics(text).find((s) => s.name === name)?.value;
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
