import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { runRestoreDrill } from './restore-drill/run-drill.js';

// The short restore drill (`npm run drill:restore` is the long one): a stack of its own under
// load, backed up, destroyed, restored into a fresh stack that takes more load; see run-drill.ts.
describe('restore drill, short', () => {
  it('brings back every event acknowledged before the backup, once, and counts what came after', async () => {
    const { dev } = loadConfig();
    const dataDir = resolve(dev.testDataDir, '..', `${dev.testDataDir.split('/').at(-1)}-restore-drill`);
    await rm(dataDir, { recursive: true, force: true });
    const r = await runRestoreDrill({
      rate: 10,
      seconds: 8,
      backupAt: 0.5,
      afterSeconds: 2,
      dataDir,
      cacheDir: dev.cacheDir,
      ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
      temporalKind: dev.temporalKind,
      log: createLogger('restore-drill', 'error'),
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    process.stderr.write(`restore drill: ${JSON.stringify({ ...r, manifest: undefined })}\n`);
    expect(r.acked.beforeBackup).toBeGreaterThan(0);
    expect(r.acked.onRestored).toBeGreaterThan(0);
    expect({
      missingBeforeRecoveryPoint: r.missingBeforeRecoveryPoint,
      notCompletedAfterRestore: r.notCompletedAfterRestore,
      completedTwice: r.completedTwice,
      deliveryRecordedTwice: r.deliveryRecordedTwice,
      undelivered: r.undelivered,
      redeliveredKnown: r.redeliveredKnown,
      deliveredTwiceAfterRestore: r.deliveredTwiceAfterRestore,
      readModelsDiffer: r.readModelsDiffer,
    }).toEqual({
      missingBeforeRecoveryPoint: 0,
      notCompletedAfterRestore: 0,
      completedTwice: 0,
      deliveryRecordedTwice: 0,
      undelivered: 0,
      redeliveredKnown: 0,
      deliveredTwiceAfterRestore: 0,
      readModelsDiffer: [],
    });
    // The loss is only ever of events acknowledged after the stream snapshot began.
    expect(r.lostAfterRecoveryPoint).toBeLessThanOrEqual(r.acked.afterBackup);
    // The set holds no event in clear: the stream snapshots are sealed under the payload key ring
    // (the event store's rows hold ENCRYPTED_FIELDS sealed already).
    const events = r.manifest.streams.find((s) => s.role === 'events')!;
    expect(events.sealing).toMatchObject({ key_id: expect.any(String), wrapped_key: expect.any(String) });
    const snapshot = await readFile(join(dataDir, 'set', events.file));
    expect(snapshot.includes(Buffer.from('drill'))).toBe(false);
    await rm(dataDir, { recursive: true, force: true });
  }, 480_000);
});
