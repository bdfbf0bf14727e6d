// A progress bar on stderr for the command-line jobs; one line per update when stderr is not a
// terminal (a CI log), at most every few seconds.

export function createProgress(label: string, out: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let last = 0;
  return {
    update(done: number, total: number | null, force = false): void {
      const now = Date.now();
      if (!force && now - last < (out.isTTY ? 100 : 5_000)) return;
      last = now;
      const rate = Math.round(done / Math.max((now - started) / 1000, 0.001));
      const share = total ? Math.min(done / total, 1) : undefined;
      const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * 30)).padEnd(30, '.')}] ${(share * 100).toFixed(1)}% `;
      const line = `${label} ${bar}${done.toLocaleString('en')}${total ? `/${total.toLocaleString('en')}` : ''} (${rate.toLocaleString('en')}/s)`;
      out.write(out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    },
    end(done: number, total: number | null): void {
      this.update(done, total, true);
      if (out.isTTY) out.write('\n');
    },
  };
}
