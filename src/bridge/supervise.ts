import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';

const MAX_RESTART_DELAY_MS = 30_000;

export interface LoopState {
  consuming: boolean;
  restarts: number;
  lastError?: string;
}

/**
 * Runs `loop` until `signal` aborts: whenever it ends, for any reason, it is started again after
 * a backoff (0.5 s doubling to 30 s, reset by a loop that ended without an error). `state` tells
 * health checks whether it runs, how often it restarted and why it last stopped.
 */
export async function supervise(loop: () => Promise<void>, state: LoopState, signal: AbortSignal, log: Logger): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      await loop();
      failures = 0;
    } catch (err) {
      failures++;
      state.lastError = (err as Error).message;
      log.error({ err: state.lastError, failures }, 'bridge loop stopped; restarting');
    }
    state.consuming = false;
    if (signal.aborted) break;
    state.restarts++;
    await sleep(Math.min(500 * 2 ** failures, MAX_RESTART_DELAY_MS), undefined, { signal }).catch(() => undefined);
  }
}
