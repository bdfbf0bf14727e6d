import { readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';

// On one machine the API, the worker and Temporal share the cores. Ingestion answers clients
// and must not wait behind processing, which has a buffer (the stream) to fall back on: so the
// dev stack runs Temporal, PostgreSQL and the worker niced. Measured: docs/performance.md.
export const BACKGROUND_NICENESS = 19;

/** Lowers a process's CPU priority; a failure (no permission, process gone) changes nothing. */
export function runInBackground(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, BACKGROUND_NICENESS);
  } catch {
    // Priority is an optimisation: the stack runs the same without it.
  }
  // With Linux's autogroup scheduling (on by default), each session is scheduled as one group
  // and a process's nice only orders it within its group. Our children lead sessions of their
  // own (detached), so the group's nice is the one that counts against the API's.
  try {
    if (leadsItsSession(pid)) writeFileSync(`/proc/${pid}/autogroup`, String(BACKGROUND_NICENESS));
  } catch {
    // No autogroup support (another OS, a kernel without it): the process nice above is all.
  }
}

function leadsItsSession(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name in parentheses: state, ppid, pgrp, session, …
  const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
  return session === pid;
}
