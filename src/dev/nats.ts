import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnManaged, type ManagedChild } from './child-process.js';
import { findOnPath, goInstall } from './go-install.js';
import { findFreePort, isPortFree, waitUntil } from './ports.js';

// Built only where no nats-server is on PATH; Debian's package (2.9.x) is used as is when present.
export const NATS_SERVER_VERSION = 'v2.12.15';

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

export interface NatsOptions {
  port: number;
  /** HTTP monitoring port; defaults to port + 10000 when free, else any free port. */
  monitorPort?: number;
  /** More server flags (the TLS test's --tls… flags). */
  extraArgs?: string[];
}

export async function resolveNatsServer(cacheDir: string, log: Log): Promise<string> {
  const onPath = await findOnPath('nats-server');
  if (onPath) return onPath;
  return goInstall({
    module: 'github.com/nats-io/nats-server/v2',
    version: NATS_SERVER_VERSION,
    binary: 'nats-server',
    dir: join(cacheDir, `nats-server-${NATS_SERVER_VERSION}`),
    alternative:
      'install nats-server (Debian: apt-get install nats-server), or set NATS_URL to a NATS server with JetStream that is already running',
    log,
  });
}

export interface RunningNats {
  child: ManagedChild;
  url: string;
  monitorUrl: string;
}

export async function startNats(bin: string, dataDir: string, opts: NatsOptions, log: Log): Promise<RunningNats> {
  const dir = join(dataDir, 'nats');
  await mkdir(dir, { recursive: true });
  const monitorPort = opts.monitorPort ?? (await defaultMonitorPort(opts.port));
  const args = ['-a', '127.0.0.1', '-p', String(opts.port), '-m', String(monitorPort), '-js', '-sd', dir, ...(opts.extraArgs ?? [])];
  const child = spawnManaged({ name: 'nats', command: bin, args, logFile: join(dir, 'nats-server.log'), log });
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  try {
    // /healthz answers ok only once JetStream has loaded its streams, unlike a bare open port.
    await child.whileRunning((signal) => waitUntil(`NATS at 127.0.0.1:${opts.port}`, () => healthy(monitorUrl), 30_000, signal));
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, url: `nats://127.0.0.1:${opts.port}`, monitorUrl };
}

async function defaultMonitorPort(port: number): Promise<number> {
  const preferred = port + 10_000;
  return preferred <= 65_535 && (await isPortFree(preferred)) ? preferred : findFreePort();
}

async function healthy(monitorUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}
