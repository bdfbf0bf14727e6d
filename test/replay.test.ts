import { readdir, readFile } from 'node:fs/promises';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createTracing } from '../src/telemetry/tracing.js';
import { tracingPlugin } from '../src/worker/create-worker.js';
import { WORKFLOWS_PATH } from '../src/worker/workflow-bundle.js';

// Determinism guard: the committed histories (test/histories, made by `npm run
// histories:record`) must replay against the current workflow code. A change that would break
// running workflows fails here; gate it with patched() instead (see docs/development.md).

// One folder per workflow shape released, each with the four lifecycles (the last a big event,
// started with a reference to its stream message): runs of every released
// shape may still be open (parked up to PARK_TIMEOUT) when a new worker starts. Until the first
// release there is one shape, and its folder is re-recorded whenever the workflow changes.
const DIR = new URL('./histories/', import.meta.url);
const SHAPES = ['first-release'];

describe('workflow replay over committed histories', async () => {
  const files = (await Promise.all(SHAPES.map(async (shape) => (await readdir(new URL(`${shape}/`, DIR))).map((f) => `${shape}/${f}`))))
    .flat()
    .sort();

  // …and the subscriber workflow's one lifecycle (paused, probed, resumed, drained).
  it('has the four recorded lifecycles of every workflow shape', () => {
    expect(files).toEqual(
      SHAPES.flatMap((shape) =>
        [
          'completed.json',
          'completed-by-reference.json',
          'discarded.json',
          'failed-reprocessed.json',
          'subscriber-paused-resumed.json',
        ].map((f) => `${shape}/${f}`),
      ).sort(),
    );
  });

  const replayAll = async (plugins: Parameters<typeof Worker.runReplayHistories>[0]['plugins'] = []) => {
    const histories = await Promise.all(
      files.map(async (f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(await readFile(new URL(f, DIR), 'utf8'))) })),
    );
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH, plugins }, histories)) results.push(r);
    return results.map((r) => [r.workflowId, r.error?.message]);
  };

  it('replays every one of them without nondeterminism', async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    expect(await replayAll()).toEqual(files.map((f) => [f, undefined]));
  });

  // Histories recorded without tracing meet workers with it (OTEL_EXPORTER_OTLP_ENDPOINT set on
  // a rolling restart): the OpenTelemetry workflow interceptors must not change their commands.
  it('replays every one of them with the tracing interceptors in the bundle', async () => {
    const plugin = tracingPlugin(createTracing(loadConfig({ TRACING_ENABLED: 'true' }), 'replay', new InMemorySpanExporter())!);
    const configured = await plugin.configureReplayWorker({ workflowsPath: WORKFLOWS_PATH });
    expect(configured.interceptors?.workflowModules?.some((m) => m.includes('interceptors-opentelemetry'))).toBe(true);
    expect(await replayAll([plugin])).toEqual(files.map((f) => [f, undefined]));
  });
});
