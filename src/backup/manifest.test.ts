import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORMAT, type Manifest, MANIFEST, sha256File, verifySet, writeManifest } from './manifest.js';

describe('a backup set is verified before a restore touches anything', () => {
  let dir: string;
  const state = { messages: 2, bytes: 10, first_seq: 1, last_seq: 2, consumer_count: 1 };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'set-'));
    await mkdir(join(dir, 'postgres'));
    await mkdir(join(dir, 'streams'));
    await writeFile(join(dir, 'postgres/events.copy'), 'a\tb\nc\td\n');
    await writeFile(join(dir, 'streams/EVENTS.tar.s2'), Buffer.from([1, 2, 3, 4]));
    const files = await Promise.all(
      ['postgres/events.copy', 'streams/EVENTS.tar.s2'].map(async (path) => ({
        path,
        bytes: path.endsWith('copy') ? 8 : 4,
        sha256: await sha256File(join(dir, path)),
      })),
    );
    const manifest: Manifest = {
      format: FORMAT,
      started_at: '2026-12-04T20:00:00.000Z',
      finished_at: '2026-12-04T20:00:01.000Z',
      database: {
        snapshot: '10:10:',
        wal_lsn: '0/1A2B3C',
        taken_at: '2026-12-04T20:00:00.100Z',
        server_version: '18.0',
        migrations: ['001_events.sql'],
        partition_months: [],
        sequences: [],
        tables: [{ name: 'events', columns: ['x', 'y'], rows: 2, file: 'postgres/events.copy' }],
      },
      streams: [{ name: 'EVENTS', role: 'events', file: 'streams/EVENTS.tar.s2', taken_at: '2026-12-04T20:00:00.500Z', config: {}, state }],
      temporal: { included: false, why: 'derived' },
      files,
    };
    await writeManifest(dir, manifest);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('accepts a whole set', async () => {
    expect((await verifySet(dir)).streams[0]!.state.last_seq).toBe(2);
  });

  it('names a file whose bytes changed', async () => {
    await writeFile(join(dir, 'postgres/events.copy'), 'a\tX\nc\td\n');
    await expect(verifySet(dir)).rejects.toThrow(/postgres\/events\.copy: sha256 .* the manifest says/);
  });

  it('names a missing or truncated file', async () => {
    await rm(join(dir, 'streams/EVENTS.tar.s2'));
    await writeFile(join(dir, 'postgres/events.copy'), 'a\tb\n');
    await expect(verifySet(dir)).rejects.toThrow(
      /postgres\/events\.copy: 4 bytes, the manifest says 8[\s\S]*streams\/EVENTS\.tar\.s2: missing/,
    );
  });

  it('refuses a set whose backup never finished', async () => {
    await rename(join(dir, MANIFEST), join(dir, `${MANIFEST}.partial`));
    await expect(verifySet(dir)).rejects.toThrow(/incomplete: it has no manifest\.json \(the backup stopped before it finished\)/);
    await expect(verifySet(join(dir, 'nope'))).rejects.toThrow(/no such backup set/);
  });
});
