import { fmt } from '../stats.js';
import type { Ceilings } from './ceilings.js';

export function printCeilings(c: Ceilings): void {
  console.log('\nceilings of this machine (same stack, same run)');
  console.log(`  HTTP (Fastify) answered once JetStream acked    ${fmt(c.httpAckPerSecond)} req/s`);
  console.log(`  JetStream publishes, pipelined                  ${fmt(c.publishPerSecond)} msgs/s`);
  console.log(`  Temporal: empty workflow, eager, closed loop    ${fmt(c.emptyWorkflowPerSecond)} workflows/s`);
  console.log(`  Temporal: 3 local activities + 1 upsert, eager  ${fmt(c.localActivitiesWorkflowPerSecond)} workflows/s`);
}

/** `value` beside the ceiling it is measured against, as a ratio. */
export const ratio = (value: number, ceiling: number) => `${fmt(value / ceiling, 2)} × ${fmt(ceiling)}`;
