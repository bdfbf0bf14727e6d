import { proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { EventStatusKey } from '../../src/workflows/definitions.js';
import type { CeilingActivities } from './activities.js';

// The two shapes whose rate is Temporal's ceiling on this machine: nothing at all, and what the
// event workflow's happy path needs of Temporal (one local activity and one upsert).

const { noop } = proxyLocalActivities<CeilingActivities>({ startToCloseTimeout: '10s' });

export async function emptyWorkflow(): Promise<void> {}

export async function localActivityWorkflow(): Promise<void> {
  await noop();
  upsertSearchAttributes([{ key: EventStatusKey, value: 'completed' }]);
}
