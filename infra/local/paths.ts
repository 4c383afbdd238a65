import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Downloads survive `down --purge` and fresh clones; data and logs belong to one checkout. */
export function defaultCacheDir(): string {
  return process.env.SHEPHERD_CACHE_DIR ?? join(homedir(), '.cache', 'shepherd');
}

export function defaultStateDir(): string {
  return process.env.SHEPHERD_STATE_DIR ?? join(repoRoot, '.state', 'stack');
}
