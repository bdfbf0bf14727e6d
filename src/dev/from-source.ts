import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// How a child process runs TypeScript from source (`npm start`, the benches' `--from source`).
//
// `--import tsx` is preloaded into every thread, the Temporal worker's workflow threads included,
// and tsx turns Node's source maps on in each: bench figures put that at up to ~0.7 ms of worker
// CPU per event (README, "Capacity and tuning"). Those threads run only the SDK's own JavaScript
// and the workflow bundle (which the SDK source-maps itself), so they need neither tsx nor Node's
// source maps. The preload below still reaches them, but loads tsx only in the main thread,
// where the activities run: their failures keep stack traces that point into the .ts files.

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const PRELOAD = `import { isMainThread } from 'node:worker_threads'; if (isMainThread) await import(${JSON.stringify(TSX)});`;

/** Node options that make `node <options> file.ts` run a TypeScript entry, with tsx in its main thread only. */
export function tsxMainThreadOnly(): string[] {
  return ['--import', `data:text/javascript,${encodeURIComponent(PRELOAD)}`];
}
