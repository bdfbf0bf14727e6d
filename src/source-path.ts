import { fileURLToPath } from 'node:url';

// The same code runs from src/ (tsx, in development and tests) and from dist/ (node, built):
// files that other processes or bundlers must load are named with the extension in use here.
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
export const runningFromSource = ext === '.ts';

/** Absolute path of a sibling module, given relative to `from` without extension. */
export function modulePath(relative: string, from: string): string {
  return fileURLToPath(new URL(`${relative}${ext}`, from));
}
