import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What the API and worker read as PAYLOAD_KEYS and PAYLOAD_KEY_ID. */
export interface PayloadKeyEnv {
  PAYLOAD_KEYS: string;
  PAYLOAD_KEY_ID: string;
}

/**
 * The dev stack's payload key: made once, then kept beside the data it protects (a dev Temporal
 * database is unreadable without it). The id is random, so a deleted and remade key shows up as
 * "unknown key" on old payloads rather than as a failed decryption.
 */
export async function devPayloadKey(dataDir: string): Promise<PayloadKeyEnv> {
  const file = join(dataDir, 'payload-key');
  await mkdir(dataDir, { recursive: true });
  const made = `dev-${randomBytes(4).toString('hex')}:${randomBytes(32).toString('base64')}`;
  try {
    await writeFile(file, `${made}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const line = (await readFile(file, 'utf8')).trim();
  const at = line.indexOf(':');
  if (at <= 0) throw new Error(`${file} should hold one line keyId:base64key; delete it to make a new key`);
  return { PAYLOAD_KEYS: line, PAYLOAD_KEY_ID: line.slice(0, at) };
}
