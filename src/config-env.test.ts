import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, configVariables, formatDuration, renderConfigurationDoc } from './config-doc.js';
import { DEV_ONLY_VARIABLES, envSchema } from './config-env.js';
import { CONFIG_VARIABLES, loadConfig } from './config.js';

// Pure: no service, no file but the doc. docs/configuration.md is generated from the schema.

describe('docs/configuration.md', () => {
  it('is what `npm run docs:config` generates from src/config-env.ts', () => {
    const committed = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(committed, 'docs/configuration.md is out of date: run `npm run docs:config`').toBe(renderConfigurationDoc());
  });

  it('lists every variable the service reads, each once, with a one-line description', () => {
    const variables = configVariables();
    expect(variables.map((v) => v.name)).toEqual([...CONFIG_VARIABLES]);
    for (const v of variables) {
      expect(v.description, v.name).toMatch(/^[^\n]{8,}$/);
      expect(renderConfigurationDoc().match(new RegExp(`^\\| \`${v.name}\` \\|`, 'gm')), v.name).toHaveLength(1);
    }
  });

  it('gives each default as the schema applies it', () => {
    const parsed = envSchema.parse({}) as Record<string, unknown>;
    for (const v of configVariables()) {
      const value = parsed[v.name];
      if (v.default === '') {
        expect(value === undefined || value === '' || (Array.isArray(value) && value.length === 0), v.name).toBe(true);
        continue;
      }
      // The default as written in the doc, parsed by the schema, is the schema's default.
      const written = v.default.replace(/^`|`$/g, '');
      expect((envSchema.parse({ [v.name]: written }) as Record<string, unknown>)[v.name], v.name).toEqual(value);
    }
    expect(formatDuration(30 * 86_400_000)).toBe('30d');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(1_500)).toBe('1500ms');
  });
});

describe('dev-only settings', () => {
  const samples: Record<string, string> = {
    DEV_TEMPORAL: 'server',
    DEV_TEMPORAL_PORT: '17233',
    DEV_TEMPORAL_UI_PORT: '18233',
    DEV_NATS_PORT: '14222',
    DEV_POSTGRES_PORT: '15432',
    DEV_PG_REPLICA: 'sync',
    DEV_POSTGRES_REPLICA_PORT: '15434',
  };
  it.each(DEV_ONLY_VARIABLES)('%s changes nothing but config.dev', (name) => {
    const { dev: devBefore, ...before } = loadConfig({});
    const { dev: devAfter, ...after } = loadConfig({ [name]: samples[name] ?? '/tmp/elsewhere' });
    expect(after).toEqual(before);
    expect(devAfter).not.toEqual(devBefore);
  });
});
