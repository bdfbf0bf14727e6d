import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { runRestoreDrill } from '../test/restore-drill/run-drill.js';

// `npm run drill:restore [-- --rate 40 --seconds 60 --backup-at 0.5 --after 10]`: a stack of its
// own (.data/restore-drill, wiped first) under a steady load with a webhook subscriber, backed up
// at --backup-at of the load, killed -9 with its data deleted when the load ends, restored into a
// fresh stack that takes --after seconds more. Prints the recovery point and time, and exits
// non-zero if the drill's promise broke (test/restore-drill/checks.ts).

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '60' },
    'backup-at': { type: 'string', default: '0.5' },
    after: { type: 'string', default: '10' },
  },
});

async function main(): Promise<void> {
  const { dev } = loadConfig();
  const dataDir = resolve('.data/restore-drill');
  await rm(dataDir, { recursive: true, force: true });
  console.log(`restore drill (data in ${dataDir}, wiped first), Temporal: ${dev.temporalKind}`);
  const r = await runRestoreDrill({
    rate: Number(args.rate),
    seconds: Number(args.seconds),
    backupAt: Number(args['backup-at']),
    afterSeconds: Number(args.after),
    drainTimeoutMs: 600_000,
    dataDir,
    cacheDir: dev.cacheDir,
    ...(dev.temporalCliPath && { temporalCliPath: dev.temporalCliPath }),
    temporalKind: dev.temporalKind,
    log: createLogger('restore-drill', 'error'),
    progress: (line) => console.log(`  ${line}`),
  });
  const events = r.manifest.streams.find((s) => s.role === 'events')!;
  const setBytes = r.manifest.files.reduce((n, f) => n + f.bytes, 0);
  console.log(`
acknowledged: ${r.acked.beforeBackup} before the backup, ${r.acked.afterBackup} after it, ${r.acked.onRestored} on the restored stack
backup: ${(r.backupMs / 1000).toFixed(1)} s, ${setBytes.toLocaleString('en')} bytes; database snapshot ${r.manifest.database.taken_at} (WAL ${r.manifest.database.wal_lsn}), EVENTS up to ${events.state.last_seq} at ${events.taken_at}
recovery point: the stream snapshot, ${(r.recoveryPointAgeMs / 1000).toFixed(1)} s before the disaster; ${r.lostAfterRecoveryPoint} events acknowledged after it lost (of ${r.acked.afterBackup})
recovery time: ${(r.recoveryMs / 1000).toFixed(1)} s from the disaster to a restored stack serving (the restore itself ${(r.restoreMs / 1000).toFixed(1)} s)
missing from before the recovery point: ${r.missingBeforeRecoveryPoint}; not completed after the restore: ${r.notCompletedAfterRestore}
completed twice: ${r.completedTwice}; delivery recorded twice: ${r.deliveryRecordedTwice}; undelivered: ${r.undelivered}
restored stack: sent again though known delivered ${r.redeliveredKnown}, received twice from it ${r.deliveredTwiceAfterRestore}, sent again (first delivered after the database snapshot) ${r.redeliveredAfterSnapshot}
first stack: received twice before the disaster ${r.deliveredTwiceBeforeDisaster}
read models equal a rebuild: ${r.readModelsDiffer.length === 0 ? 'yes' : `no: ${r.readModelsDiffer.join('; ')}`}`);
  const broke =
    r.missingBeforeRecoveryPoint +
      r.notCompletedAfterRestore +
      r.completedTwice +
      r.deliveryRecordedTwice +
      r.undelivered +
      r.redeliveredKnown >
      0 || r.readModelsDiffer.length > 0;
  if (broke) {
    console.log('\nthe restore drill found a broken promise');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
