import { readFileSync } from 'node:fs';

/** A PEM file named by a TLS setting, read once at connect; a wrong path names the setting. */
export function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${setting}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
