import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { loadConfig } from '../config.js';
import { createKeyRing } from '../crypto/key-ring.js';
import { createLogger } from '../logger.js';
import { connectNats } from '../nats/connection.js';
import { runCli } from '../read-side/cli.js';
import { createPool } from '../store/pool.js';
import { backup, setFolderName } from './backup.js';
import { cliProgress } from './cli-progress.js';
import { resolveTargets } from './targets.js';

// npm run backup [-- --out <folder>]: a set in <DEV_DATA_DIR>/backups/<UTC time>/ by default.
runCli(async () => {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const config = loadConfig();
  const log = createLogger('backup', config.logLevel === 'info' ? 'warn' : config.logLevel);
  const t = await resolveTargets(config, log, { start: false });
  const dir = resolve(values.out ?? join(config.dev.dataDir, 'backups', setFolderName()));
  const pool = createPool(t.databaseUrl, 2, config.databaseTls);
  const nc = await connectNats(t.natsUrl, 'event-service-backup', log, config.natsTls);
  try {
    process.stderr.write(`backing up into ${dir}\n`);
    const began = Date.now();
    const m = await backup({
      pool,
      nc,
      jsm: await jetstreamManager(nc),
      stream: config.stream.name,
      dir,
      ...(t.config.payloadCodec.keys.length > 0 && { keyRing: createKeyRing(t.config.payloadCodec) }),
      progress: cliProgress(),
    });
    return {
      set: dir,
      seconds: (Date.now() - began) / 1000,
      database: { taken_at: m.database.taken_at, wal_lsn: m.database.wal_lsn, rows: m.database.tables.reduce((n, x) => n + x.rows, 0) },
      streams: m.streams.map((s) => ({ name: s.name, last_seq: s.state.last_seq, messages: s.state.messages, taken_at: s.taken_at })),
      bytes: m.files.reduce((n, f) => n + f.bytes, 0),
    };
  } finally {
    await nc.drain();
    await pool.end();
  }
});
