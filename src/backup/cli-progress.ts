import { createProgress } from '../read-side/progress.js';
import type { BackupProgress } from './backup.js';

/** Steps as lines on stderr, each with a running byte (or item) count while it lasts. */
export function cliProgress(out: NodeJS.WriteStream = process.stderr): BackupProgress {
  let bar: ReturnType<typeof createProgress> | undefined;
  let last = 0;
  return {
    step(label) {
      bar = createProgress(label, out);
      last = 0;
    },
    bytes(done) {
      last = done;
      bar?.update(done, null);
    },
    done(summary) {
      if (bar && out.isTTY) bar.end(last, null);
      bar = undefined;
      out.write(`${summary}\n`);
    },
  };
}
