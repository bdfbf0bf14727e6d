import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { rm } from 'node:fs/promises';
import { startStack } from '../src/dev/stack.js';
import { createLogger } from '../src/logger.js';
import { ensureStream } from '../src/nats/stream.js';
import { loadConfig } from '../src/config.js';
import { createPool } from '../src/store/pool.js';
import { migrate } from '../src/store/migrate.js';
import { backup } from '../src/backup/backup.js';
import { restoreStream } from '../src/backup/jetstream-snapshot.js';
import { verifySet } from '../src/backup/manifest.js';
import { loadTable } from '../src/backup/pg-tables.js';
import { bridgeConsumer } from '../src/bridge/consumer.js';

const log = createLogger('try', 'warn');
const config = loadConfig({});
const dir = '/tmp/try-backup';
await rm(dir, { recursive: true, force: true });
const s = await startStack({ dataDir: dir + '/a', cacheDir: config.dev.cacheDir, log, nats: { port: 14222 }, postgres: { port: 15433 } });
try {
  const nc = await connect({ servers: s.natsUrl });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureStream(jsm, config.stream);
  await bridgeConsumer(js, jsm, config.stream, config.bridge);
  for (let i = 0; i < 50; i++) await js.publish('events.backend.service.x', JSON.stringify({ i }));
  const pool = createPool(s.databaseUrl!, 2);
  await migrate(pool, log);
  await pool
    .query(`INSERT INTO subscriptions (id, url, subjects) VALUES (gen_random_uuid(), 'http://x', ARRAY['events.>'])`)
    .catch((e) => console.log('sub insert', e.message));
  const m = await backup({
    pool,
    nc,
    jsm,
    stream: 'EVENTS',
    dir: dir + '/set',
    progress: { step: (l) => console.log('step', l), bytes: () => undefined, done: (l) => console.log(l) },
  });
  console.log(
    JSON.stringify(
      m.streams.map((x) => [x.name, x.state]),
      null,
      0,
    ),
    m.database.wal_lsn,
    m.database.snapshot,
    m.database.tables.length,
  );
  await verifySet(dir + '/set');
  // restore the stream into the same NATS after deleting it
  await jsm.streams.delete('EVENTS');
  const st = await restoreStream(
    nc,
    'EVENTS',
    { config: m.streams[0]!.config, state: m.streams[0]!.state },
    dir + '/set/' + m.streams[0]!.file,
  );
  console.log('restored', st);
  const ci = await jsm.consumers.info('EVENTS', config.bridge.consumer);
  console.log('consumer', ci.num_pending, ci.num_ack_pending, ci.delivered);
  await pool.query('TRUNCATE subscriptions CASCADE');
  const c = await pool.connect();
  const t = m.database.tables.find((x) => x.name === 'subscriptions')!;
  console.log('loaded', await loadTable(c, t, dir + '/set/' + t.file));
  c.release();
  await pool.end();
  await nc.close();
} finally {
  await s.stop();
}
