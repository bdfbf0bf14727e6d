import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { initialSearchAttributes } from '../../src/workflows/definitions.js';
import { ceilingActivities } from './activities.js';
import { cpuMs } from '../proc.js';
import { emptyWorkflow, localActivityWorkflow } from './workflows.js';

// The ceilings of this machine, measured on the same stack as the project's figures so that the
// project is reported as a ratio to them (a ratio holds on a noisy machine, a rate does not).

export interface Ceilings {
  /** Minimal Fastify route that answers once JetStream acked: HTTP ingestion's ceiling. */
  httpAckPerSecond: number;
  /** Publishes with many acks outstanding: JetStream's own ceiling. */
  publishPerSecond: number;
  /** Closed loop, eager start, each start waiting for its result. */
  emptyWorkflow: WorkflowCeiling;
  /** The event workflow's happy path as Temporal sees it: one local activity, one upsert. */
  localActivityWorkflow: WorkflowCeiling;
}

export interface WorkflowCeiling {
  perSecond: number;
  /** CPU per workflow of the worker (this process, with its client) and of the Temporal server. */
  workerCpuMs: number;
  temporalCpuMs: number;
}

const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows.ts', import.meta.url));

export async function measureCeilings(stack: { natsUrl: string; temporalAddress: string; temporalPid?: number | undefined }, opts: { workflows: number; inFlight: number; seconds: number }): Promise<Ceilings> {
  const nc = await connect({ servers: stack.natsUrl });
  const stream = `CEILING_${randomUUID().slice(0, 8)}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
  const js = jetstream(nc);
  const body = new TextEncoder().encode(JSON.stringify({ event_type: 'ceiling', data: { n: 1, text: 'x'.repeat(200) } }));
  try {
    const publishPerSecond = await timed(5_000, async (i) => {
      await js.publish(`${stream.toLowerCase()}.e`, body, { msgID: randomUUID() });
      return i;
    }, 256);

    const app = Fastify({ logger: false });
    app.post('/e', async (req, reply) => {
      await js.publish(`${stream.toLowerCase()}.e`, JSON.stringify(req.body), { msgID: randomUUID() });
      return reply.code(202).send({ ok: true });
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const result = await autocannon({
      url: `${url}/e`, method: 'POST', connections: 64, duration: opts.seconds,
      headers: { 'content-type': 'application/json' }, body: Buffer.from(body),
    });
    await app.close();
    const httpAckPerSecond = result.requests.average;

    const connection = await NativeConnection.connect({ address: stack.temporalAddress });
    const taskQueue = `ceiling-${randomUUID()}`;
    const worker = await Worker.create({ connection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities: ceilingActivities, maxCachedWorkflows: 1_000 });
    const client = new Client({ connection });
    const running = worker.run();
    try {
      const start = async (wf: typeof emptyWorkflow, i: number) => {
        const event = { event_id: randomUUID(), event_type: 'ceiling', event_source: 'backend', event_category: 'service', received_at: new Date().toISOString() };
        const handle = await client.workflow.start(wf, {
          workflowId: event.event_id, taskQueue, requestEagerStart: true,
          typedSearchAttributes: initialSearchAttributes(event as never),
        });
        await handle.result();
        return i;
      };
      const closedLoop = async (wf: typeof emptyWorkflow): Promise<WorkflowCeiling> => {
        // Unmeasured first: the worker's code is not yet optimised, nor Temporal's caches warm.
        await timed(undefined, (i) => start(wf, i), opts.inFlight, Math.ceil(opts.workflows / 5));
        const cpu = process.cpuUsage();
        const temporalCpu = cpuMs(stack.temporalPid);
        const perSecond = await timed(undefined, (i) => start(wf, i), opts.inFlight, opts.workflows);
        const used = process.cpuUsage(cpu);
        return {
          perSecond,
          workerCpuMs: (used.user + used.system) / 1000 / opts.workflows,
          temporalCpuMs: (cpuMs(stack.temporalPid) - temporalCpu) / opts.workflows,
        };
      };
      // One after the other: an object literal's values are evaluated in order.
      return { httpAckPerSecond, publishPerSecond, emptyWorkflow: await closedLoop(emptyWorkflow), localActivityWorkflow: await closedLoop(localActivityWorkflow) };
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
}

/** Runs `task` with `concurrency` in flight, for `count` tasks or `ms` milliseconds; returns tasks/s. */
async function timed(ms: number | undefined, task: (i: number) => Promise<unknown>, concurrency: number, count = Infinity): Promise<number> {
  const began = performance.now();
  const deadline = ms === undefined ? Infinity : began + ms;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && performance.now() < deadline) await task(next++);
    }),
  );
  return next / ((performance.now() - began) / 1000);
}
