import { loadConfig } from '../src/config.js';
import { promoteStandby } from '../src/store/promote.js';

// `npm run db:promote [-- <standby's URL>]`: promotes the read replica (DATABASE_READ_URL unless a
// URL is given) to primary, after the primary is lost. The API and workers need no restart: their
// DATABASE_URL lists both servers with target_session_attrs=read-write (docs/disaster-recovery.md).

const config = loadConfig();
const url = process.argv[2] ?? config.databaseReadUrl;
if (!url) {
  console.error('usage: npm run db:promote -- <postgres://… of the standby>   (or set DATABASE_READ_URL)');
  process.exit(2);
}
const p = await promoteStandby(url);
console.log(
  p.promoted
    ? `promoted in ${p.ms} ms; it takes writes from WAL position ${p.lsn}`
    : `already a primary (WAL position ${p.lsn}); nothing done`,
);
