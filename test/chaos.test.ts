import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type ChaosDeployment, singleNodeFaults, startChaosDeployment } from './chaos/deployment.js';
import { runChaos } from './chaos/run-chaos.js';

// The short chaos run (`npm run chaos` is the long one): a deployment of its own, since its
// processes get killed, and the two crashes most likely in production.
describe('chaos, short', () => {
  let d: ChaosDeployment;
  beforeAll(async () => {
    const { dev } = loadConfig();
    const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-chaos`);
    await rm(dataDir, { recursive: true, force: true });
    d = await startChaosDeployment({
      dataDir,
      cacheDir: dev.cacheDir,
      ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
      env: { LOG_LEVEL: 'fatal' },
      log: createLogger('chaos', 'error'),
    });
  }, 180_000);
  afterAll(async () => {
    await d?.stop();
  });

  it('loses, duplicates and drops nothing when the API and then the worker are killed -9 under load', async () => {
    const faults = singleNodeFaults(d).filter((f) => f.name === 'kill -9 api' || f.name === 'kill -9 worker');
    const results = await runChaos(d, { rate: 20, seconds: 8, faults, drainTimeoutMs: 90_000 });
    for (const r of results) {
      expect(r.acked, r.fault).toBeGreaterThan(0);
      expect({ fault: r.fault, lost: r.lost, duplicated: r.duplicated, undelivered: r.undelivered, deadLettered: r.deadLettered }).toEqual({
        fault: r.fault,
        lost: 0,
        duplicated: 0,
        undelivered: 0,
        deadLettered: 0,
      });
    }
  }, 300_000);
});
