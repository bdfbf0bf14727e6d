import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOW_STACK_FRAMES } from '../../src/worker/create-worker.js';
import { initialSearchAttributes } from '../../src/workflows/definitions.js';
import { ceilingActivities } from './activities.js';
import type { CeilingReply, CeilingRequest } from './ceiling-process.js';
import { emptyWorkflow, localActivityWorkflow } from './workflows.js';

// The ceiling's worker and client, in a process of their own (started by ceiling-process.ts) so
// that it runs as the project's worker does: niced the same, tsx in its main thread only, the
// same stack frames in its workflow sandboxes. Its parent reads its CPU time from /proc and asks
// it, over IPC, for closed loops of eagerly started workflows, each start awaiting its result.

const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows.ts', import.meta.url));
const SHAPES = { empty: emptyWorkflow, localActivity: localActivityWorkflow };
/** Workflow ids kept from each loop, for the parent to read their histories. */
const KEEP = 10;

async function main(): Promise<void> {
  const address = process.argv[2];
  if (!address || !process.send) throw new Error('usage: a child process with IPC, given the Temporal address');
  // ERROR: on a loaded machine the SDK warns about every slow workflow task, thousands of lines.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  setFlagsFromString(`--stack-trace-limit=${WORKFLOW_STACK_FRAMES}`);
  const connection = await NativeConnection.connect({ address });
  const taskQueue = `ceiling-${randomUUID()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: ceilingActivities,
    maxCachedWorkflows: 1_000,
  });
  const client = new Client({ connection });
  const running = worker.run();

  const start = async (shape: CeilingRequest['shape']) => {
    const event = {
      event_id: randomUUID(),
      event_type: 'ceiling',
      event_source: 'backend',
      event_category: 'service',
      received_at: new Date().toISOString(),
    };
    const handle = await client.workflow.start(SHAPES[shape], {
      workflowId: event.event_id,
      taskQueue,
      requestEagerStart: true,
      typedSearchAttributes: initialSearchAttributes(event as never),
    });
    await handle.result();
    return event.event_id;
  };
  process.on('message', (req: CeilingRequest | 'stop') => {
    if (req === 'stop') {
      worker.shutdown();
      return;
    }
    void closedLoop(() => start(req.shape), req.count, req.inFlight).then((reply) => process.send!(reply));
  });
  process.send({ perSecond: 0, workflowIds: [] } satisfies CeilingReply);
  await running;
  await connection.close();
  process.disconnect();
}

/** `count` tasks with `inFlight` at a time; the rate, and the ids of the last few. */
async function closedLoop(task: () => Promise<string>, count: number, inFlight: number): Promise<CeilingReply> {
  const began = performance.now();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next++ < count) ids.push(await task());
    }),
  );
  return { perSecond: count / ((performance.now() - began) / 1000), workflowIds: ids.slice(-KEEP) };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
