import { setPriority } from 'node:os';

// On one machine the API, the worker and Temporal share the cores. Ingestion answers clients
// and must not wait behind processing, which has a buffer (the stream) to fall back on: so the
// dev stack runs Temporal and the worker niced. Measured: README, "Capacity and tuning".
export const BACKGROUND_NICENESS = 19;

/** Lowers a process's CPU priority; a failure (no permission, process gone) changes nothing. */
export function runInBackground(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, BACKGROUND_NICENESS);
  } catch {
    // Priority is an optimisation: the stack runs the same without it.
  }
}
