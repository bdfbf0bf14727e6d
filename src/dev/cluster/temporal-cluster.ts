import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagedChild } from '../child-process.js';
import { findFreePort, isPortOpen, waitUntil } from '../ports.js';
import {
  prepareTemporalServer,
  type RolePorts,
  spawnTemporalServer,
  type TemporalRole,
  type TemporalServerBinaries,
  temporalServerConfig,
} from '../temporal-server.js';
import { registerNamespace, serves } from '../temporal-namespace.js';
import { startTemporalUi } from '../temporal-ui.js';
import { type Log, type Restartable, restartable, whenReady } from './restartable.js';

// Temporal's services as separate processes, as a multi-host deployment runs them: one frontend,
// two history hosts sharing the shards (when one is lost its shards move to the other), one
// matching and the internal worker service, all on the stack's PostgreSQL. Each process has a
// config file of its own under <dataDir>/temporal-cluster/config/ (its role's ports; everything
// else the same); they find each other through the membership table in the database.

/** More shards than the one-process profile's 4, so that two history hosts each own several. */
export const CLUSTER_HISTORY_SHARDS = 16;

/** Process name and the role it runs. */
export const TEMPORAL_CLUSTER_PROCESSES: [string, TemporalRole][] = [
  ['frontend', 'frontend'],
  ['history-1', 'history'],
  ['history-2', 'history'],
  ['matching', 'matching'],
  ['worker', 'worker'],
];

export interface RunningTemporalCluster {
  address: string;
  uiUrl: string;
  /** By process name: frontend, history-1, history-2, matching, worker. */
  processes: Map<string, Restartable>;
  ui: ManagedChild;
  stop(): Promise<void>;
}

export async function startTemporalCluster(
  bins: TemporalServerBinaries,
  dataDir: string,
  databaseUrl: string,
  opts: { port: number; uiPort: number; uiCodecEndpoint?: string; fresh?: boolean },
  log: Log,
): Promise<RunningTemporalCluster> {
  const dir = join(dataDir, 'temporal-cluster');
  const db = await prepareTemporalServer(bins, dir, databaseUrl, opts.fresh ?? false);
  const address = `127.0.0.1:${opts.port}`;
  const ports = async (grpcPort?: number): Promise<RolePorts> => ({
    grpcPort: grpcPort ?? (await findFreePort()),
    membershipPort: await findFreePort(),
  });
  const own = new Map<string, RolePorts>();
  for (const [name] of TEMPORAL_CLUSTER_PROCESSES) own.set(name, await ports(name === 'frontend' ? opts.port : undefined));
  own.get('frontend')!.httpPort = await findFreePort();

  const processes = new Map<string, Restartable>();
  for (const [name, role] of TEMPORAL_CLUSTER_PROCESSES) {
    const roles = {
      frontend: own.get('frontend')!,
      history: own.get('history-1')!,
      matching: own.get('matching')!,
      worker: own.get('worker')!,
      [role]: own.get(name)!,
    };
    await writeFile(
      join(dir, 'config', `${name}.yaml`),
      JSON.stringify(temporalServerConfig({ db, dir, frontendAddress: address, shards: CLUSTER_HISTORY_SHARDS, roles }), null, 2),
    );
    processes.set(
      name,
      restartable(`temporal-${name}`, log, async () => {
        // The frontend is ready when it answers; history and matching when they listen for gRPC; the
        // internal worker service has no gRPC server, only its place in the membership ring.
        const port = role === 'worker' ? own.get(name)!.membershipPort : own.get(name)!.grpcPort;
        const ready =
          role === 'frontend'
            ? (signal: AbortSignal) => waitUntil(`Temporal frontend at ${address}`, () => serves(address), 90_000, signal, 500)
            : (signal: AbortSignal) => waitUntil(`temporal-${name} to listen on ${port}`, () => isPortOpen(port), 90_000, signal, 200);
        return whenReady(spawnTemporalServer(bins, dir, name, log, [role]), ready);
      }),
    );
  }
  const stopAll = async () => {
    // The frontend first, so that no client work arrives while the others go.
    await processes.get('frontend')!.stop();
    await Promise.all([...processes.values()].map((p) => p.stop()));
  };
  let ui: ManagedChild | undefined;
  try {
    // The frontend first: on a new database the first process writes the cluster's metadata, and
    // five writing it at once can fail one of them (seen: "Failed to apply cluster metadata").
    await processes.get('frontend')!.start();
    await Promise.all([...processes.values()].map((p) => p.start()));
    await registerNamespace(address, log);
    ui = await startTemporalUi(
      bins.ui,
      dir,
      { address, uiPort: opts.uiPort, ...(opts.uiCodecEndpoint && { codecEndpoint: opts.uiCodecEndpoint }) },
      log,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  const started = ui;
  return {
    address,
    uiUrl: `http://localhost:${opts.uiPort}`,
    processes,
    ui: started,
    async stop() {
      await started.stop();
      await stopAll();
    },
  };
}
