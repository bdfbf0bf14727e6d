import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type ChaosDeployment, startChaosDeployment } from './chaos/deployment.js';
import { eventually } from './helpers.js';
import { scrape, valueOf } from './metrics-text.js';

// NATS stops under a deployment of its own (the shared one must keep its NATS): the worker's
// readiness and both processes' NATS gauges say so, and say so again when it is back.
describe('a NATS outage as monitoring sees it', () => {
  let d: ChaosDeployment;
  beforeAll(async () => {
    const { dev } = loadConfig();
    const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-nats-outage`);
    await rm(dataDir, { recursive: true, force: true });
    d = await startChaosDeployment({
      dataDir,
      cacheDir: dev.cacheDir,
      ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
      env: { LOG_LEVEL: 'fatal' },
      log: createLogger('nats-outage', 'error'),
    });
  }, 180_000);
  afterAll(async () => {
    await d?.stop();
  });

  const ready = async () => {
    const res = await fetch(`${d.workerHealthUrl}/health/ready`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean }> } };
  };
  const natsGauges = async () =>
    Promise.all([d.apiUrl, d.workerHealthUrl].map(async (url) => valueOf(await scrape(url), 'event_service_nats_connected')));

  it('turns the worker not ready and the NATS gauges to 0 while NATS is down, and back after', async () => {
    expect((await ready()).status).toBe(200);
    expect(await natsGauges()).toEqual([1, 1]);

    await d.stopDependency('nats');
    const down = await eventually(
      async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      },
      30_000,
      'the worker to turn not ready',
    );
    expect(down.body.checks.nats).toEqual({ ok: false });
    await eventually(async () => ((await natsGauges()).every((v) => v === 0) ? true : undefined), 30_000, 'both NATS gauges to drop');
    expect((await fetch(`${d.apiUrl}/health`)).status).toBe(503);

    await d.startDependency('nats');
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 60_000, 'the worker to be ready again');
    await eventually(async () => ((await natsGauges()).every((v) => v === 1) ? true : undefined), 30_000, 'both NATS gauges to recover');
    await d.waitHealthy(60_000);

    // And events flow again: one sent after the outage completes.
    const res = await fetch(`${d.apiUrl}/api/events/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: randomUUID(), event_type: 'after_outage', data: {} }),
    });
    expect(res.status).toBe(202);
    const { event_id } = (await res.json()) as { event_id: string };
    await eventually(
      async () => {
        const r = await fetch(`${d.apiUrl}/api/events/${event_id}`);
        return r.ok && ((await r.json()) as { status: string }).status === 'completed' ? true : undefined;
      },
      60_000,
      'the event sent after the outage to complete',
    );
  }, 240_000);
});
