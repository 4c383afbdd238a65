import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ShepherdError } from '@shepherd/core/errors';
import type { PutSource } from './types.ts';

const sha256Pattern = /^[0-9a-f]{64}$/;

/**
 * Local writes go to `.<name>.<random>.partial` next to the target before a rename; such names
 * are hidden from `list` and refused as keys so a half-written file can never be addressed.
 */
export const partialSuffix = '.partial';
export const isPartialName = (name: string): boolean => name.startsWith('.') && name.endsWith(partialSuffix);

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function normalizeSha256(value: string): string {
  const lower = value.toLowerCase();
  if (!sha256Pattern.test(lower)) {
    throw new ShepherdError('bad_request', `expected sha256 must be 64 hex characters, got "${value}"`);
  }
  return lower;
}

export function integrityError(uri: string, expectedSha256: string, actualSha256: string): ShepherdError {
  return new ShepherdError(
    'unprocessable',
    `refusing artifact ${uri}: its sha256 is ${actualSha256} but ${expectedSha256} was expected ` +
      '(the stored bytes were modified or corrupted)',
    { details: { reason: 'artifact_integrity', uri, expectedSha256, actualSha256 } },
  );
}

export function verify(uri: string, bytes: Uint8Array, expectedSha256: string): void {
  const expected = normalizeSha256(expectedSha256);
  const actual = sha256Hex(bytes);
  if (actual !== expected) throw integrityError(uri, expected, actual);
}

/** A store's `getVerified`: a malformed hash is refused before any read, a mismatch after it. */
export async function getVerified(
  get: (uri: string) => Promise<Buffer>,
  uri: string,
  expectedSha256: string,
): Promise<Buffer> {
  const expected = normalizeSha256(expectedSha256);
  const bytes = await get(uri);
  verify(uri, bytes, expected);
  return bytes;
}

/**
 * Keys are relative, slash-separated and canonical, so one object has exactly one key and no key
 * can climb out of the store's root.
 */
export function validateKey(key: string, what = 'artifact key'): string {
  const problem = keyProblem(key);
  if (problem) throw new ShepherdError('bad_request', `invalid ${what} "${key}": ${problem}`);
  return key;
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key) > 1024) return 'it is longer than 1024 bytes';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'it contains a control character';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it must be relative (no leading "/")';
  if (key.endsWith('/')) return 'it must name an object, not a folder (trailing "/")';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it contains an empty path segment ("//")';
    if (segment === '.' || segment === '..') return 'it contains a "." or ".." segment';
    if (isPartialName(segment)) return `"${segment}" is reserved for in-progress writes`;
  }
  return undefined;
}

/** A list prefix is a key prefix: it may be empty or end with "/", but may not climb out either. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  validateKey(prefix.endsWith('/') ? `${prefix}x` : prefix, 'list prefix');
  return prefix;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export const isBytes = (source: PutSource): source is Uint8Array => source instanceof Uint8Array;

export const isPathSource = (source: PutSource): source is { path: string } =>
  !(source instanceof Uint8Array) &&
  typeof (source as { path?: unknown }).path === 'string' &&
  !(Symbol.asyncIterator in source);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
