import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../src/config.js';

// The compose files are validated by `docker-compose config -q` in CI (no engine runs there);
// this checks what that cannot: every variable given to the service exists in src/config.ts,
// where a typo would otherwise be ignored, and no secret is written into the files.

const compose = async (file: string) => parse(await readFile(new URL(`../${file}`, import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string> }>;
};

describe('deployment files', () => {
  it('gives the API and the worker only variables the service reads', async () => {
    const { services } = await compose('docker-compose.yml');
    for (const name of ['api', 'worker']) {
      const keys = Object.keys(services[name]!.environment ?? {});
      expect(keys.length, name).toBeGreaterThan(5);
      expect(keys.filter((k) => !CONFIG_VARIABLES.includes(k)), name).toEqual([]);
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
    const names = example.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0]!);
    // The compose stack's own services' passwords are the only ones the service does not read.
    const stackOnly = ['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD'];
    expect(names.filter((n) => !stackOnly.includes(n) && !CONFIG_VARIABLES.includes(n))).toEqual([]);
  });
});
