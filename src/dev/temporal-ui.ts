import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnManaged, type ManagedChild } from './child-process.js';
import { waitUntil } from './ports.js';

type Log = { warn(obj: object, msg: string): void };

/** Temporal's Web UI server (the one inside the CLI's dev server, as a program of its own). */
export async function startTemporalUi(
  bin: string,
  dir: string,
  opts: { address: string; uiPort: number; codecEndpoint?: string },
  log: Log,
): Promise<ManagedChild> {
  const root = join(dir, 'ui');
  await mkdir(join(root, 'config'), { recursive: true });
  const config = {
    temporalGrpcAddress: opts.address,
    host: '127.0.0.1',
    port: opts.uiPort,
    enableUi: true,
    defaultNamespace: 'default',
    refreshInterval: '1m',
    cors: { allowOrigins: [`http://localhost:${opts.uiPort}`, `http://127.0.0.1:${opts.uiPort}`] },
    ...(opts.codecEndpoint && { codec: { endpoint: opts.codecEndpoint } }),
  };
  await writeFile(join(root, 'config', 'events.yaml'), JSON.stringify(config, null, 2));
  const child = spawnManaged({
    name: 'temporal-ui',
    command: bin,
    args: ['--root', root, '--config', 'config', '--env', 'events', 'start'],
    logFile: join(root, 'ui-server.log'),
    log,
    background: true,
  });
  const url = `http://127.0.0.1:${opts.uiPort}`;
  try {
    await child.whileRunning((signal) =>
      waitUntil(
        `Temporal UI at ${url}`,
        () =>
          fetch(url).then(
            (r) => r.ok,
            () => false,
          ),
        30_000,
        signal,
        200,
      ),
    );
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}
