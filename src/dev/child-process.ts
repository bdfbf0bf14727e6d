import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runInBackground } from './priority.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  /** Truncated at each start; receives stdout and stderr, so the output survives the parent. */
  logFile: string;
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  uid?: number;
  gid?: number;
  cwd?: string;
  /** The child's whole environment; this process's by default. */
  env?: NodeJS.ProcessEnv;
  /** Run at a lower CPU priority than the API (see priority.ts). */
  background?: boolean;
  log: { warn(obj: object, msg: string): void };
}

export interface ManagedChild {
  readonly name: string;
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  isRunning(): boolean;
  tail(lines?: number): Promise<string>;
  /** Settles like `task`, but rejects with the output tail if the child exits first, and then
   * aborts the signal given to `task` so that no readiness poll outlives the failure. */
  whileRunning<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

// With PR_SET_PDEATHSIG the kernel signals the child when this process dies, even by SIGKILL
// (a crashed test runner, a CI timeout), which no 'exit' handler can cover.
const setpriv = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) : undefined;

const live = new Set<{ pid: number; stopSignal: NodeJS.Signals }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only synchronous work runs in 'exit': send the stop signal and let the children wind down.
  process.once('exit', () => {
    for (const child of live) {
      try {
        process.kill(child.pid, child.stopSignal);
      } catch {
        // already gone
      }
    }
  });
}

/**
 * The command line that runs `command` so that it dies with this process, and whether it may
 * then have its own process group (so that Ctrl-C reaches only the parent, which stops the
 * children itself, in order).
 */
export function dieWithParent(command: string, args: string[], stopSignal: NodeJS.Signals) {
  return setpriv
    ? { command: setpriv, args: ['--pdeathsig', stopSignal, '--', command, ...args], detached: true }
    : { command, args, detached: false };
}

export function spawnManaged(spec: ChildSpec): ManagedChild {
  const stopSignal = spec.stopSignal ?? 'SIGTERM';
  const stopTimeoutMs = spec.stopTimeoutMs ?? 10_000;
  const { command, args, detached } = dieWithParent(spec.command, spec.args, stopSignal);

  const fd = openSync(spec.logFile, 'w');
  let child;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], detached, uid: spec.uid, gid: spec.gid, cwd: spec.cwd, env: spec.env });
  } finally {
    closeSync(fd);
  }
  if (spec.background) runInBackground(child.pid);

  let running = true;
  let stopping = false;
  const entry = child.pid === undefined ? undefined : { pid: child.pid, stopSignal };
  if (entry) {
    live.add(entry);
    installExitHook();
  }

  const tail = async (lines = 40) => {
    const text = await readFile(spec.logFile, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  };

  const exited = new Promise<ExitInfo>((resolve) => {
    const finish = (info: ExitInfo) => {
      if (!running) return;
      running = false;
      if (entry) live.delete(entry);
      if (!stopping) spec.log.warn({ service: spec.name, ...info, logFile: spec.logFile }, `${spec.name} exited unexpectedly`);
      resolve(info);
    };
    child.once('exit', (code, signal) => finish({ code, signal }));
    child.once('error', (error) => finish({ code: null, signal: null, error }));
  });

  const describeExit = async (info: ExitInfo) => {
    const how = info.error ? info.error.message : info.signal ? `signal ${info.signal}` : `code ${info.code}`;
    return new Error(`${spec.name} exited early (${how}); last output (${spec.logFile}):\n${await tail()}`);
  };

  return {
    name: spec.name,
    pid: child.pid,
    exited,
    isRunning: () => running,
    tail,
    whileRunning: <T>(task: (signal: AbortSignal) => Promise<T>) => {
      const abort = new AbortController();
      void exited.then(() => abort.abort());
      return Promise.race([
        task(abort.signal).catch(async (err: unknown) => {
          if (!running) throw await describeExit(await exited);
          const message = err instanceof Error ? err.message : String(err);
          throw new Error(`${spec.name}: ${message}; last output (${spec.logFile}):\n${await tail()}`, { cause: err });
        }),
        exited.then(async (info) => {
          throw await describeExit(info);
        }),
      ]);
    },
    stop: async () => {
      stopping = true;
      if (!running) return;
      child.kill(stopSignal);
      const timer = setTimeout(() => {
        spec.log.warn({ service: spec.name, stopTimeoutMs }, `${spec.name} did not stop in time; killing it`);
        child.kill('SIGKILL');
      }, stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a short-lived command to completion; rejects with its output tail on a non-zero exit. */
export async function runToEnd(spec: Omit<ChildSpec, 'stopSignal' | 'stopTimeoutMs' | 'log'>): Promise<void> {
  const child = spawnManaged({ ...spec, log: { warn: () => undefined } });
  const info = await child.exited;
  if (info.code !== 0) {
    const how = info.error ? info.error.message : info.signal ? `signal ${info.signal}` : `code ${info.code}`;
    throw new Error(`${spec.name} failed (${how}); last output (${spec.logFile}):\n${await child.tail()}`);
  }
}
