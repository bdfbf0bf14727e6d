import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const sdkDir = fileURLToPath(new URL('../../sdk/browser/', import.meta.url));

/** Bundles the SDK from its source (a fresh clone has no dist/) and returns the <script> build. */
export async function buildSdk(): Promise<string> {
  await promisify(execFile)(process.execPath, ['build.mjs'], { cwd: sdkDir });
  return readFile(`${sdkDir}dist/event-service.iife.js`, 'utf8');
}
