import { readdir, readFile } from 'node:fs/promises';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../src/worker/workflow-bundle.js';

// Determinism guard: the committed histories (test/histories, made by `npm run
// histories:record`) must replay against the current workflow code. A change that would break
// running workflows fails here; gate it with patched() instead (see the README).

// One folder per workflow shape that ever ran in production, each with the three lifecycles:
// runs of every shape may still be open (parked up to PARK_TIMEOUT) when a new worker starts.
const DIR = new URL('./histories/', import.meta.url);
const SHAPES = ['before-one-task', 'one-task'];

describe('workflow replay over committed histories', async () => {
  const files = (await Promise.all(SHAPES.map(async (shape) => (await readdir(new URL(`${shape}/`, DIR))).map((f) => `${shape}/${f}`)))).flat().sort();

  it('has the three recorded lifecycles of every workflow shape', () => {
    expect(files).toEqual(SHAPES.flatMap((shape) => ['completed.json', 'discarded.json', 'failed-reprocessed.json'].map((f) => `${shape}/${f}`)));
  });

  it('replays every one of them without nondeterminism', async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const histories = await Promise.all(
      files.map(async (f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(await readFile(new URL(f, DIR), 'utf8'))) })),
    );
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH }, histories)) results.push(r);
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(files.map((f) => [f, undefined]));
  });
});
