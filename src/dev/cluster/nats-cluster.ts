import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnManaged } from '../child-process.js';
import { findFreePort, waitUntil } from '../ports.js';
import { type Log, type Restartable, restartable, whenReady } from './restartable.js';

// Three nats-server processes in one cluster (routes on loopback), each with a JetStream store of
// its own, so that a stream at R3 keeps a copy on every node and survives losing any one of them.
// The config files are written under <dataDir>/nats-cluster/ in the server's own format: with the
// addresses changed to real hosts they are the starting point for a multi-host deployment.

export const NATS_CLUSTER_NAME = 'events';
export const NATS_CLUSTER_SIZE = 3;

export interface NatsClusterNode extends Restartable {
  /** The node's server_name, as JetStream reports a stream's leader. */
  serverName: string;
  url: string;
  monitorUrl: string;
}

export interface RunningNatsCluster {
  nodes: NatsClusterNode[];
  /** Every node's URL, comma-separated: what NATS_URL takes so that a client fails over. */
  urls: string;
  stop(): Promise<void>;
}

interface NodePorts {
  client: number;
  cluster: number;
  monitor: number;
}

/** The node's config in nats-server's format (JSON is a subset of it). */
export function natsNodeConfig(name: string, own: NodePorts, all: NodePorts[], storeDir: string) {
  return {
    server_name: name,
    listen: `127.0.0.1:${own.client}`,
    http: `127.0.0.1:${own.monitor}`,
    jetstream: { store_dir: storeDir },
    cluster: {
      name: NATS_CLUSTER_NAME,
      listen: `127.0.0.1:${own.cluster}`,
      routes: all.map((p) => `nats-route://127.0.0.1:${p.cluster}`),
    },
  };
}

export async function startNatsCluster(bin: string, dataDir: string, log: Log): Promise<RunningNatsCluster> {
  const dir = join(dataDir, 'nats-cluster');
  await mkdir(dir, { recursive: true });
  const ports: NodePorts[] = [];
  for (let i = 0; i < NATS_CLUSTER_SIZE; i++)
    ports.push({ client: await findFreePort(), cluster: await findFreePort(), monitor: await findFreePort() });

  const nodes = await Promise.all(
    ports.map(async (own, i) => {
      const serverName = `nats-${i + 1}`;
      const configFile = join(dir, `${serverName}.conf`);
      await writeFile(configFile, JSON.stringify(natsNodeConfig(serverName, own, ports, join(dir, serverName)), null, 2));
      const monitorUrl = `http://127.0.0.1:${own.monitor}`;
      const node = restartable(serverName, log, async () => {
        // /healthz is ok once this node's JetStream is current with the cluster (after a restart:
        // caught up with the streams it holds a copy of).
        return whenReady(
          spawnManaged({ name: serverName, command: bin, args: ['-c', configFile], logFile: join(dir, `${serverName}.log`), log }),
          (signal) => waitUntil(`${serverName} at 127.0.0.1:${own.client}`, () => healthy(monitorUrl), 60_000, signal, 200),
        );
      });
      return Object.assign(node, { serverName, url: `nats://127.0.0.1:${own.client}`, monitorUrl });
    }),
  );
  // All at once: a node's JetStream is not healthy until the cluster has a quorum to elect a leader.
  const started = await Promise.allSettled(nodes.map((n) => n.start()));
  const stop = async () => void (await Promise.all(nodes.map((n) => n.stop())));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { nodes, urls: nodes.map((n) => n.url).join(','), stop };
}

async function healthy(monitorUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}
