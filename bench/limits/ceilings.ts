import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { cpuMeter } from '../proc.js';
import { type CeilingRequest, type CeilingWorker, startCeilingWorker } from './ceiling-process.js';

// The ceilings of this machine, measured on the same stack as the project's figures so that the
// project is reported as a ratio to them (a ratio holds on a noisy machine, a rate does not).

export interface IngestCeilings {
  /** Minimal Fastify route that answers once JetStream acked: HTTP ingestion's ceiling. */
  httpAckPerSecond: number;
  /** Publishes with many acks outstanding: JetStream's own ceiling. */
  publishPerSecond: number;
}

export interface Ceilings extends IngestCeilings {
  /** Closed loop, eager start, each start waiting for its result. */
  emptyWorkflow: WorkflowCeiling;
  /** The event workflow's happy path as Temporal sees it: one local activity, one upsert. */
  localActivityWorkflow: WorkflowCeiling;
}

export interface WorkflowCeiling {
  perSecond: number;
  /** CPU per workflow of the ceiling's worker process (with its client), of Temporal and of PostgreSQL (Temporal's store with `--temporal server`). */
  workerCpuMs: number;
  temporalCpuMs: number;
  postgresCpuMs: number;
  /** A few of the loop's workflows, for their histories. */
  workflowIds: string[];
}

export interface StackPids {
  temporal?: number | undefined;
  postgres?: number | undefined;
}

export async function measureIngestCeilings(natsUrl: string, seconds: number): Promise<IngestCeilings> {
  const nc = await connect({ servers: natsUrl });
  const stream = `CEILING_${randomUUID().slice(0, 8)}`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
  const js = jetstream(nc);
  const body = new TextEncoder().encode(JSON.stringify({ event_type: 'ceiling', data: { n: 1, text: 'x'.repeat(200) } }));
  try {
    const publishPerSecond = await timed(5_000, () => js.publish(`${stream.toLowerCase()}.e`, body, { msgID: randomUUID() }), 256);
    const app = Fastify({ logger: false });
    app.post('/e', async (req, reply) => {
      await js.publish(`${stream.toLowerCase()}.e`, JSON.stringify(req.body), { msgID: randomUUID() });
      return reply.code(202).send({ ok: true });
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const result = await autocannon({
      url: `${url}/e`,
      method: 'POST',
      connections: 64,
      duration: seconds,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(body),
    });
    await app.close();
    return { httpAckPerSecond: result.requests.average, publishPerSecond };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
}

/** One closed loop of the ceiling's worker, with the CPU it cost each process per workflow. */
export async function sampleWorkflowCeiling(worker: CeilingWorker, stack: StackPids, req: CeilingRequest): Promise<WorkflowCeiling> {
  const pids = Object.fromEntries(
    Object.entries({ worker: worker.pid, ...stack }).filter((e): e is [string, number] => e[1] !== undefined),
  );
  const cpu = cpuMeter(pids);
  const { perSecond, workflowIds } = await worker.run(req);
  const used = cpu();
  const perWorkflow = (name: string) => (used[name] ?? 0) / req.count;
  return {
    perSecond,
    workerCpuMs: perWorkflow('worker'),
    temporalCpuMs: perWorkflow('temporal'),
    postgresCpuMs: perWorkflow('postgres'),
    workflowIds,
  };
}

/** The ceiling's worker, started and warmed up: an unmeasured fifth of `workflows` of each shape. */
export async function startWarmCeilingWorker(temporalAddress: string, workflows: number, inFlight: number): Promise<CeilingWorker> {
  const worker = await startCeilingWorker(temporalAddress);
  await worker.run({ shape: 'empty', count: Math.ceil(workflows / 5), inFlight });
  await worker.run({ shape: 'localActivity', count: workflows, inFlight });
  return worker;
}

/** All of them once (`npm run bench:limits`). */
export async function measureCeilings(
  stack: { natsUrl: string; temporalAddress: string; pids: StackPids },
  opts: { workflows: number; inFlight: number; seconds: number },
): Promise<Ceilings> {
  const ingest = await measureIngestCeilings(stack.natsUrl, opts.seconds);
  const worker = await startWarmCeilingWorker(stack.temporalAddress, opts.workflows, opts.inFlight);
  try {
    const loop = (shape: CeilingRequest['shape']) =>
      sampleWorkflowCeiling(worker, stack.pids, { shape, count: opts.workflows, inFlight: opts.inFlight });
    return { ...ingest, emptyWorkflow: await loop('empty'), localActivityWorkflow: await loop('localActivity') };
  } finally {
    await worker.stop();
  }
}

/** Runs `task` with `concurrency` in flight for `ms` milliseconds; returns tasks/s. */
async function timed(ms: number, task: () => Promise<unknown>, concurrency: number): Promise<number> {
  const began = performance.now();
  const deadline = began + ms;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await task();
        done++;
      }
    }),
  );
  return done / ((performance.now() - began) / 1000);
}
