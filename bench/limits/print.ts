import { fmt } from '../stats.js';
import type { Ceilings, WorkflowCeiling } from './ceilings.js';

export function printCeilings(c: Ceilings): void {
  console.log('\nceilings of this machine (same stack, same run)');
  console.log(`  HTTP (Fastify) answered once JetStream acked    ${fmt(c.httpAckPerSecond)} req/s`);
  console.log(`  JetStream publishes, pipelined                  ${fmt(c.publishPerSecond)} msgs/s`);
  const workflow = (w: WorkflowCeiling) =>
    `${fmt(w.perSecond)} workflows/s   CPU per workflow: worker ${fmt(w.workerCpuMs, 1)} ms, temporal ${fmt(w.temporalCpuMs, 1)} ms`;
  console.log(`  Temporal: empty workflow, eager, closed loop    ${workflow(c.emptyWorkflow)}`);
  console.log(`  Temporal: 1 local activity + 1 upsert, eager    ${workflow(c.localActivityWorkflow)}`);
}
