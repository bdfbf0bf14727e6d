import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shape of the code, kept: no import cycle between modules (type-only imports included), and
// no lower layer importing a higher one. `npx madge --circular --extensions ts src` draws the same
// cycles; this test needs nothing installed.

const SRC = dirname(fileURLToPath(import.meta.url));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'|import\('(\.{1,2}\/[^']+)'\)|\bimport\s+'(\.{1,2}\/[^']+)'/g;

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

const graph = new Map<string, string[]>();
for (const file of modules(SRC)) {
  const text = readFileSync(file, 'utf8');
  const deps = [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), (m[1] ?? m[2] ?? m[3])!).replace(/\.js$/, '.ts'));
  graph.set(
    relative(SRC, file),
    deps.map((d) => relative(SRC, d)).filter((d) => d.endsWith('.ts')),
  );
}

function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (m: string) => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') {
      found.push([...path.slice(path.indexOf(m)), m]);
      return;
    }
    state.set(m, 'open');
    path.push(m);
    for (const d of graph.get(m) ?? []) visit(d);
    path.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) visit(m);
  return found;
}

// Folder → folders it must not import from (the layers above it).
const ABOVE: Record<string, string[]> = {
  events: ['store', 'read-side', 'nats', 'temporal', 'activities', 'bridge', 'api', 'worker'],
  crypto: ['store', 'read-side', 'nats', 'temporal', 'activities', 'bridge', 'api', 'worker'],
  nats: ['store', 'read-side', 'temporal', 'activities', 'bridge', 'api', 'worker', 'workflows'],
  store: ['read-side', 'activities', 'bridge', 'api', 'worker', 'workflows'],
  'read-side': ['activities', 'bridge', 'api', 'worker', 'workflows'],
  activities: ['api', 'worker', 'bridge'],
};

describe('the import graph of src/', () => {
  it('has no cycle', () => {
    expect(cycles().map((c) => c.join(' > '))).toEqual([]);
  });

  it('has no import from a lower layer up to a higher one', () => {
    const upward = [...graph].flatMap(([m, deps]) => {
      const above = ABOVE[m.split('/')[0]!] ?? [];
      return deps.filter((d) => above.includes(d.split('/')[0]!)).map((d) => `${m} -> ${d}`);
    });
    expect(upward).toEqual([]);
  });

  it('sees the imports (the test would pass on an empty graph)', () => {
    expect(graph.get('api/app.ts')).toContain('api/app-deps.ts');
  });
});
