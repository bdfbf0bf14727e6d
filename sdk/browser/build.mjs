// Bundles the SDK as ESM (for bundlers) and as a minified IIFE for a <script> tag (global
// `EventService`), and prints their sizes: the IIFE is what a page pays for.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = dirname(fileURLToPath(import.meta.url));
const common = {
  entryPoints: [join(root, 'src/index.ts')],
  bundle: true,
  target: 'es2020',
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
};
const outputs = [
  { ...common, format: 'esm', outfile: join(root, 'dist/index.js'), minify: false, sourcemap: true },
  {
    ...common,
    format: 'iife',
    globalName: 'EventService',
    outfile: join(root, 'dist/event-service.iife.js'),
    minify: true,
    sourcemap: true,
  },
];
await Promise.all(outputs.map((o) => build(o)));
for (const { outfile } of outputs) {
  const code = readFileSync(outfile);
  console.log(
    `${outfile.slice(root.length + 1).padEnd(28)} ${String(code.length).padStart(6)} B, ${String(gzipSync(code).length).padStart(5)} B gzip`,
  );
}
