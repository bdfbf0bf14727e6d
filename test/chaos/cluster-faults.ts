import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ClusterDeployment } from '../../src/dev/cluster/cluster-deployment.js';
import type { Restartable } from '../../src/dev/cluster/restartable.js';
import type { ChaosTarget, Fault } from './run-chaos.js';

// The cluster's faults: each a process lost as a host is lost (kill -9), kept down for a while so
// that the rest of the cluster has to carry on without it, then started again on its ports and data.

export function clusterTarget(c: ClusterDeployment): ChaosTarget {
  const urls = [...c.apiUrls.map((u) => `${u}/health`), ...c.workerHealthUrls.map((u) => `${u}/health/ready`)];
  const healthy = async () =>
    (
      await Promise.all(
        urls.map((u) =>
          fetch(u).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      )
    ).every(Boolean);
  return {
    apiUrls: c.apiUrls,
    databaseUrl: c.databaseUrl,
    natsUrl: c.natsUrl,
    async waitHealthy(timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await healthy())) {
        if (Date.now() > deadline) throw new Error(`cluster not healthy within ${timeoutMs} ms`);
        await sleep(200);
      }
    },
  };
}

/** The NATS node that leads the EVENTS stream now (its replicas elect a new one when it goes). */
export async function eventsStreamLeader(c: ClusterDeployment, stream = 'EVENTS'): Promise<Restartable & { serverName: string }> {
  const nc = await connect({ servers: c.natsUrl.split(',') });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    const leader = c.nats.nodes.find((n) => n.serverName === info.cluster?.leader);
    if (!leader)
      throw new Error(`no leader for ${stream} among ${c.nats.nodes.map((n) => n.serverName).join(', ')}: ${JSON.stringify(info.cluster)}`);
    return leader;
  } finally {
    await nc.close();
  }
}

export const CLUSTER_FAULTS = [
  'kill -9 nats leader',
  'kill -9 history-1',
  'kill -9 matching',
  'kill -9 frontend',
  'kill -9 worker-1',
  'kill -9 api-1',
  'restart postgres',
] as const;
export type ClusterFaultName = (typeof CLUSTER_FAULTS)[number];
/** What CI runs on every push: the two losses a cluster exists to survive. */
export const SHORT_CLUSTER_FAULTS: ClusterFaultName[] = ['kill -9 nats leader', 'kill -9 history-1'];

export function clusterFaults(c: ClusterDeployment, downMs: number, names: readonly ClusterFaultName[] = CLUSTER_FAULTS): Fault[] {
  const crash = (pick: () => Promise<Restartable>) => async () => {
    const victim = await pick();
    await victim.kill();
    await sleep(downMs);
    await victim.start();
  };
  const temporal = (name: string) => crash(async () => c.temporal.processes.get(name)!);
  const service = (name: string) => crash(async () => c.services.get(name)!);
  const inject: Record<ClusterFaultName, () => Promise<void>> = {
    'kill -9 nats leader': crash(() => eventsStreamLeader(c)),
    'kill -9 history-1': temporal('history-1'),
    'kill -9 matching': temporal('matching'),
    'kill -9 frontend': temporal('frontend'),
    'kill -9 worker-1': service('worker-1'),
    'kill -9 api-1': service('api-1'),
    'restart postgres': async () => {
      await c.postgres.stop();
      await sleep(downMs);
      await c.postgres.start();
    },
  };
  return names.map((name) => ({ name, inject: inject[name] }));
}
