import { readdirSync, readFileSync } from 'node:fs';

// CPU time and memory of other processes, read from /proc (Linux). Clock ticks are 100 per
// second on every Linux this runs on (USER_HZ).
const TICKS_PER_SECOND = 100;

/** `/proc/<pid>/stat` fields after the command name (which is in parentheses and may hold spaces). */
function statFields(pid: number | string | undefined): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const ticksToMs = (...ticks: (string | undefined)[]) => (ticks.reduce((sum, t) => sum + Number(t), 0) * 1000) / TICKS_PER_SECOND;

/** User + system CPU time of a process so far, in milliseconds; NaN when it cannot be read. */
export function cpuMs(pid: number | undefined): number {
  const f = statFields(pid);
  return f ? ticksToMs(f[11], f[12]) : NaN;
}

/**
 * CPU time of a process and its children so far (ended ones included), in milliseconds: for a
 * server that works in children of its own, as PostgreSQL does in one per connection.
 */
export function treeCpuMs(pid: number | undefined): number {
  const f = statFields(pid);
  if (!f) return NaN;
  let ms = ticksToMs(f[11], f[12], f[13], f[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = statFields(entry);
    if (child && Number(child[1]) === pid) ms += ticksToMs(child[11], child[12]);
  }
  return ms;
}

/** Resident memory of a process, in MB; NaN when it cannot be read. */
export function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU ms spent by each named process, with its children, between two calls. */
export function cpuMeter(pids: Record<string, number>) {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuMs(pid)]));
  return () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuMs(pid) - start[name]!]));
}

/** Process ids of every descendant of `pid` that is running now. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (f) parentOf.set(Number(entry), Number(f[1]));
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf)
      if (parent === p) {
        found.push(child);
        walk(child);
      }
  };
  walk(pid);
  return found;
}
