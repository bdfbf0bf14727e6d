import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config.js';
import { resolveTemporalCli } from '../src/dev/stack.js';
import { startThrowawayDeployment } from '../src/dev/throwaway-deployment.js';
import { createLogger } from '../src/logger.js';
import { TEST_LIFECYCLE_ENV } from './stack-settings.js';

// The whole suite runs against one deployment brought up as `npm start` does it, on free ports
// with its own data folder.
export default async function setup(project: TestProject) {
  const { dev } = loadConfig();
  const log = createLogger('test-stack', 'warn');
  // The stream starts empty too: with Temporal wiped, a test that recreates the bridge's consumer
  // (which delivers the stream from its start) would otherwise run every earlier run's events
  // again, and take longer with each run kept in this folder.
  await rm(join(dev.testDataDir, 'nats'), { recursive: true, force: true });
  const deployment = await startThrowawayDeployment({
    dataDir: dev.testDataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    // DEV_TEMPORAL=server runs the suite against Temporal's server on PostgreSQL (the production path).
    temporalKind: dev.temporalKind,
    // Workflows a previous run left parked would replay against today's workflow code; the suite
    // wants none of them, so Temporal starts empty (PostgreSQL keeps its data: ids are unique).
    freshTemporal: true,
    env: { ...TEST_LIFECYCLE_ENV, NODE_ENV: 'test', LOG_LEVEL: 'error' },
    log,
  });
  const { stop, ...urls } = deployment;
  project.provide('stack', { ...urls, temporalCliPath: await resolveTemporalCli(dev.cacheDir, dev.temporalCliPath) });
  return stop;
}
