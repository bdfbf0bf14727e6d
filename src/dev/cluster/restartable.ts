import type { ManagedChild } from '../child-process.js';

export type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/**
 * One process of the cluster that can be crashed and started again on the same ports and data,
 * which is what the cluster's chaos run does to each of them in turn.
 */
export interface Restartable {
  readonly name: string;
  readonly pid: number | undefined;
  isRunning(): boolean;
  /** Starts the process and resolves once it serves. */
  start(): Promise<void>;
  /** SIGKILL, as a crash or a lost host: no shutdown code runs. Resolves once it has exited. */
  kill(): Promise<void>;
  /** A clean stop. */
  stop(): Promise<void>;
}

export function restartable(name: string, log: Log, launch: () => Promise<ManagedChild>): Restartable {
  let child: ManagedChild | undefined;
  return {
    name,
    get pid() {
      return child?.isRunning() ? child.pid : undefined;
    },
    isRunning: () => child?.isRunning() ?? false,
    async start() {
      if (child?.isRunning()) return;
      child = await launch();
    },
    async kill() {
      if (!child?.isRunning() || child.pid === undefined) return;
      log.info({ service: name, pid: child.pid }, 'kill -9');
      process.kill(child.pid, 'SIGKILL');
      await child.exited;
    },
    async stop() {
      await child?.stop();
    },
  };
}

/** Resolves with the child once `ready` does; stops it again if it never gets there. */
export async function whenReady(child: ManagedChild, ready: (signal: AbortSignal) => Promise<unknown>): Promise<ManagedChild> {
  try {
    await child.whileRunning(ready);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}
