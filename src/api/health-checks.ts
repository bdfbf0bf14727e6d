import { statfs } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Pool } from '../store/pool.js';
import type { HealthCheck } from './routes/health.js';

const MIN_FREE_BYTES = 512 * 1024 * 1024;

export function createHealthChecks(deps: { nc: NatsConnection; pool: Pool; temporal: Client; diskPath: string }): HealthCheck[] {
  return [
    {
      name: 'nats',
      async check() {
        if (deps.nc.isClosed()) throw new Error('connection closed');
        await deps.nc.flush();
      },
    },
    { name: 'database', check: async () => void (await deps.pool.query('SELECT 1')) },
    { name: 'temporal', check: async () => void (await deps.temporal.workflowService.getSystemInfo({})) },
    {
      name: 'disk_space',
      async check() {
        const s = await statfs(deps.diskPath);
        const free = s.bavail * s.bsize;
        if (free < MIN_FREE_BYTES) throw new Error(`only ${Math.round(free / 1048576)} MiB free`);
      },
    },
  ];
}
