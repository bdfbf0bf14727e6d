import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from '@temporalio/worker';
import { modulePath, runningFromSource } from '../source-path.js';

export const WORKFLOWS_PATH = modulePath('../workflows/index', import.meta.url);
/** Written by `npm run build` beside the compiled code (dist/workflow-bundle.js). */
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * Where the worker gets its workflow code. Built (dist/), from the bundle made at build time: a
 * worker start then skips webpack (seconds of CPU and ~100 MB), and every worker of a release
 * runs byte-identical workflow code. From source, bundled at start, so an edit is picked up; and
 * when a plugin must add workflow interceptors (tracing), which a prebuilt bundle cannot take.
 */
export function workflowSource({ bundleAtStart = false } = {}): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  if (runningFromSource || bundleAtStart) return { workflowsPath: WORKFLOWS_PATH };
  if (!existsSync(WORKFLOW_BUNDLE_PATH)) {
    throw new Error(`${WORKFLOW_BUNDLE_PATH} is missing: build with \`npm run build\`, which bundles the workflows`);
  }
  return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
}
