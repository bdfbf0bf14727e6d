import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dieWithParent } from '../../src/dev/child-process.js';
import { tsxMainThreadOnly } from '../../src/dev/from-source.js';
import { runInBackground } from '../../src/dev/priority.js';

// The parent's side of ceiling-worker.ts: starts it niced as the dev stack's worker is, and asks it
// for closed loops of workflows.

export interface CeilingRequest {
  shape: 'empty' | 'localActivity';
  count: number;
  inFlight: number;
}
export interface CeilingReply {
  perSecond: number;
  workflowIds: string[];
}

export interface CeilingWorker {
  pid: number;
  run(req: CeilingRequest): Promise<CeilingReply>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./ceiling-worker.ts', import.meta.url));

export async function startCeilingWorker(temporalAddress: string): Promise<CeilingWorker> {
  const { command, args, detached } = dieWithParent(process.execPath, [...tsxMainThreadOnly(), ENTRY, temporalAddress], 'SIGTERM');
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached });
  runInBackground(child.pid);
  await reply(child); // ready
  return {
    pid: child.pid!,
    run(req) {
      const answer = reply(child);
      child.send(req);
      return answer;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.connected) child.send('stop');
      else child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

function reply(child: ChildProcess): Promise<CeilingReply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the ceiling's worker exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as CeilingReply);
    });
  });
}
