import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../src/config.js';
import { CLUSTER_APIS, CLUSTER_STREAM_REPLICAS, CLUSTER_WORKERS } from '../src/dev/cluster/cluster-deployment.js';
import { NATS_CLUSTER_NAME, NATS_CLUSTER_SIZE } from '../src/dev/cluster/nats-cluster.js';
import { CLUSTER_HISTORY_SHARDS, TEMPORAL_CLUSTER_PROCESSES } from '../src/dev/cluster/temporal-cluster.js';

// The compose files are validated by `docker-compose config -q` in CI (no engine runs there);
// this checks what that cannot: every variable given to the service exists in src/config.ts,
// where a typo would otherwise be ignored, and no secret is written into the files.

type Service = { image?: string; command?: string[]; environment?: Record<string, string>; deploy?: { replicas?: number } };
const compose = async (file: string) =>
  parse(await readFile(new URL(`../${file}`, import.meta.url), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };

/** The cluster as a team deploys it: docker-compose.yml with docker-compose.cluster.yml over it. */
async function clusterServices(): Promise<Record<string, Service>> {
  const [base, overlay] = await Promise.all([compose('docker-compose.yml'), compose('docker-compose.cluster.yml')]);
  const merged = { ...base.services };
  for (const [name, service] of Object.entries(overlay.services)) {
    merged[name] = { ...merged[name], ...service, environment: { ...merged[name]?.environment, ...service.environment } };
  }
  return merged;
}

describe('deployment files', () => {
  it('gives the API and the worker only variables the service reads', async () => {
    const { services } = await compose('docker-compose.yml');
    for (const name of ['api', 'worker']) {
      const keys = Object.keys(services[name]!.environment ?? {});
      expect(keys.length, name).toBeGreaterThan(5);
      expect(
        keys.filter((k) => !CONFIG_VARIABLES.includes(k)),
        name,
      ).toEqual([]);
    }
  });

  it('takes every secret from .env, never writes one', async () => {
    const { services } = await compose('docker-compose.yml');
    for (const service of Object.values(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|PWD|SECRET|KEYS|DATABASE_URL/.test(key)) expect(String(value), key).toMatch(/\$\{[A-Z_]+(:[?-][^}]*)?\}/);
      }
    }
    const example = await readFile(new URL('../.env.example', import.meta.url), 'utf8');
    const names = example
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]!);
    // The compose stack's own services' passwords are the only ones the service does not read.
    const stackOnly = ['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD'];
    expect(names.filter((n) => !stackOnly.includes(n) && !CONFIG_VARIABLES.includes(n))).toEqual([]);
  });

  it('describes the topology the cluster profile runs (npm start -- --cluster), with its settings', async () => {
    const services = await clusterServices();
    const entries = Object.entries(services);
    const flag = (svc: Service, name: string) => svc.command?.[svc.command.indexOf(name) + 1];

    const nats = entries.filter(([, s]) => s.image?.startsWith('nats:'));
    expect(nats.length).toBe(NATS_CLUSTER_SIZE);
    for (const [name, svc] of nats) {
      expect(flag(svc, '--cluster_name'), name).toBe(NATS_CLUSTER_NAME);
      // Routes to every other node.
      expect(flag(svc, '--routes')?.split(',').length, name).toBe(NATS_CLUSTER_SIZE - 1);
      expect(svc.command, name).toContain('-js');
    }

    const apis = entries.filter(([, s]) => s.command?.includes('dist/api/server.js'));
    const workers = entries.filter(([, s]) => s.command?.includes('dist/worker/main.js'));
    expect(apis.length).toBe(CLUSTER_APIS);
    expect(workers.reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0)).toBe(CLUSTER_WORKERS);
    for (const [name, svc] of [...apis, ...workers]) {
      expect(svc.environment?.STREAM_REPLICAS, name).toBe(String(CLUSTER_STREAM_REPLICAS));
      expect(svc.environment?.NATS_URL?.split(',').length, name).toBe(NATS_CLUSTER_SIZE);
    }

    const temporal = entries.filter(([, s]) => s.image?.startsWith('temporalio/server') || s.image?.startsWith('temporalio/auto-setup'));
    const roles = temporal.map(([, s]) => s.environment?.SERVICES).sort();
    expect(roles).toEqual(TEMPORAL_CLUSTER_PROCESSES.map(([, role]) => role).sort());
    for (const [name, svc] of temporal) expect(svc.environment?.NUM_HISTORY_SHARDS, name).toBe(String(CLUSTER_HISTORY_SHARDS));
  });
});
