import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { bool, DEV_ONLY_VARIABLES, duration, envSchema } from './config-env.js';

// docs/configuration.md, generated from the environment schema (src/config-env.ts), so the
// reference cannot drift from what the service reads: `npm run docs:config` writes it, and
// src/config-env.test.ts fails when the committed file differs from what this renders.

/** docs/configuration.md, wherever the command runs from. */
export const CONFIGURATION_DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

interface Variable {
  name: string;
  type: string;
  default: string;
  description: string;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  defaultValue?: unknown;
  entries?: Record<string, string>;
  format?: string;
  checks?: z.ZodType[];
};

type NumberCheck = { check: string; value?: number; inclusive?: boolean; format?: string };

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a variable's schema wraps, outermost first (default, optional, pipe, ...). */
function layers(schema: z.ZodType): z.ZodType[] {
  const all: z.ZodType[] = [];
  for (let s: z.ZodType | undefined = schema; s;) {
    all.push(s);
    const def = defOf(s);
    s = def.innerType ?? def.in;
  }
  return all;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function typeOf(schema: z.ZodType): string {
  const all = layers(schema);
  if (all.includes(duration)) return 'duration';
  if (all.includes(bool)) return 'boolean';
  const base = all[all.length - 1]!;
  const def = defOf(base);
  if (def.type === 'enum')
    return Object.values(def.entries ?? {})
      .map((v) => `\`${v}\``)
      .join(', ');
  if (def.type === 'number') {
    const checks = (def.checks ?? []).map((c) => defOf(c) as unknown as NumberCheck);
    const integer = checks.some((c) => c.check === 'number_format' && /int/.test(c.format ?? ''));
    const bound = (check: NumberCheck) => {
      const value = check.value ?? 0;
      if (check.inclusive) return { value, sign: check.check === 'greater_than' ? '≥' : '≤' };
      // An exclusive integer bound reads better as the inclusive one (positive: ≥ 1).
      if (integer)
        return { value: check.check === 'greater_than' ? value + 1 : value - 1, sign: check.check === 'greater_than' ? '≥' : '≤' };
      return { value, sign: check.check === 'greater_than' ? '>' : '<' };
    };
    const lower = checks.find((c) => c.check === 'greater_than');
    const upper = checks.find((c) => c.check === 'less_than');
    const kind = integer ? 'integer' : 'number';
    if (lower && upper && lower.inclusive !== false && upper.inclusive !== false)
      return `${kind} ${bound(lower).value}–${bound(upper).value}`;
    const parts = [lower, upper]
      .filter((c): c is NumberCheck => c !== undefined)
      .map(bound)
      .map((b) => `${b.sign} ${b.value}`);
    return [kind, ...parts].join(' ');
  }
  if (def.type === 'string' && def.format === 'url') return 'URL';
  return 'string';
}

function defaultOf(schema: z.ZodType): string {
  const all = layers(schema);
  const withDefault = all.find((s) => defOf(s).type === 'default');
  if (!withDefault) return '';
  const value = defOf(withDefault).defaultValue;
  if (value === '') return '';
  if (all.includes(duration) && typeof value === 'number') return `\`${formatDuration(value)}\``;
  return `\`${String(value)}\``;
}

/** Every variable of the schema, in its order, with what the doc says of it. */
export function configVariables(): Variable[] {
  return Object.entries(envSchema.shape as Record<string, z.ZodType>).map(([name, schema]) => ({
    name,
    type: typeOf(schema),
    default: defaultOf(schema),
    description: schema.description ?? '',
  }));
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

function table(variables: Variable[]): string[] {
  return [
    '| variable | type | default | what it does |',
    '| --- | --- | --- | --- |',
    ...variables.map((v) => `| \`${v.name}\` | ${cell(v.type)} | ${cell(v.default)} | ${cell(v.description)} |`),
  ];
}

export function renderConfigurationDoc(): string {
  const variables = configVariables();
  const dev = variables.filter((v) => DEV_ONLY_VARIABLES.includes(v.name));
  const service = variables.filter((v) => !DEV_ONLY_VARIABLES.includes(v.name));
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/config-env.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Every setting is an environment variable. `src/config.ts` is the only reader of the environment:',
    'it parses the variables of `src/config-env.ts` once at start, and a bad value stops the process',
    'with every problem listed. Durations are written `500ms`, `10s`, `5m`, `2h`, `30d`; booleans',
    '`true`/`false`, `1`/`0` or `yes`/`no`. A blank default means unset (or empty), and the description',
    'says what unset means. Settings marked Secret are never logged.',
    '',
    'This page is generated from the schema (`npm run docs:config`), where each variable is described;',
    '`src/config-env.test.ts` fails when it is out of date.',
    '',
    '## The service',
    '',
    'Read by the API and worker processes (`npm run serve:api`, `npm run serve:worker`) and the',
    'read-side jobs. See [deployment.md](deployment.md) for TLS on every hop and',
    '[observability.md](observability.md) for tracing and metrics.',
    '',
    ...table(service),
    '',
    '## The dev stack and the tests',
    '',
    'Read only by `npm start`, `npm test` and the benchmarks, which bring up their own Temporal, NATS',
    'and PostgreSQL (see the [README](../README.md)); never by the service processes.',
    '',
    ...table(dev),
    '',
  ].join('\n');
}
