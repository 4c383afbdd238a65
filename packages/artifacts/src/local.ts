import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ShepherdError } from '@shepherd/core/errors';
import {
  errorMessage,
  HashingStream,
  integrityError,
  isBytes,
  isPartialName,
  isPathSource,
  normalizeSha256,
  partialSuffix,
  sha256Hex,
  validateKey,
  validatePrefix,
  getVerified,
} from './common.ts';
import type { ArtifactEntry, ArtifactStore, PutResult, PutSource } from './types.ts';

export interface LocalArtifactStoreOptions {
  /** The directory artifacts live under; created on first write. */
  root: string;
}

/** The embedded default: a directory on this machine, URIs `file:///abs/root/key`. */
export class LocalArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;
  readonly root: string;

  constructor(options: LocalArtifactStoreOptions) {
    this.root = resolve(options.root);
  }

  uriFor(key: string): string {
    return pathToFileURL(this.pathForKey(key)).href;
  }

  async put(key: string, source: PutSource): Promise<PutResult> {
    const target = this.pathForKey(key);
    const uri = pathToFileURL(target).href;
    await mkdir(dirname(target), { recursive: true });
    if (isBytes(source)) {
      const sha256 = sha256Hex(source);
      await writeAtomically(target, async (temp) => {
        await writeFile(temp, source, { flag: 'wx', flush: true });
      });
      return { uri, sha256, size: source.byteLength };
    }
    const input = isPathSource(source) ? await openSourceFile(source.path) : Readable.from(source);
    const hashing = new HashingStream();
    await writeAtomically(target, async (temp) => {
      await pipeline(input, hashing, createWriteStream(temp, { flags: 'wx', flush: true }));
    });
    return { uri, sha256: hashing.digest(), size: hashing.size };
  }

  async get(uri: string): Promise<Buffer> {
    const path = this.pathForUri(uri);
    try {
      return await readFile(path);
    } catch (err) {
      throw fsError(err, uri, 'read');
    }
  }

  getVerified(uri: string, expectedSha256: string): Promise<Buffer> {
    return getVerified((key) => this.get(key), uri, expectedSha256);
  }

  async download(
    uri: string,
    toPath: string,
    expectedSha256: string,
  ): Promise<{ sha256: string; size: number }> {
    const expected = normalizeSha256(expectedSha256);
    const path = this.pathForUri(uri);
    const destination = resolve(toPath);
    await mkdir(dirname(destination), { recursive: true });
    const hashing = new HashingStream();
    let actual = '';
    await writeAtomically(destination, async (temp) => {
      try {
        await pipeline(
          createReadStream(path),
          hashing,
          createWriteStream(temp, { flags: 'wx', flush: true }),
        );
      } catch (err) {
        throw fsError(err, uri, 'read');
      }
      actual = hashing.digest();
      if (actual !== expected) throw integrityError(uri, expected, actual);
    });
    return { sha256: actual, size: hashing.size };
  }

  async exists(uri: string): Promise<boolean> {
    const path = this.pathForUri(uri);
    try {
      return (await stat(path)).isFile();
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
      throw fsError(err, uri, 'stat');
    }
  }

  async delete(uri: string): Promise<void> {
    const path = this.pathForUri(uri);
    try {
      if ((await stat(path)).isDirectory()) {
        throw new ShepherdError('bad_request', `${uri} is a folder, not an artifact`);
      }
      await rm(path, { force: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
      throw fsError(err, uri, 'delete');
    }
  }

  async list(prefix = ''): Promise<ArtifactEntry[]> {
    validatePrefix(prefix);
    // Only the folder the prefix names can hold matches, so the walk starts there.
    const slash = prefix.lastIndexOf('/');
    const folderKey = slash === -1 ? '' : prefix.slice(0, slash);
    const entries: ArtifactEntry[] = [];
    await this.walk(folderKey, async (key, path) => {
      if (!key.startsWith(prefix)) return;
      const info = await stat(path).catch((err: unknown) => {
        // Deleted between readdir and stat: it is simply no longer listed.
        if (isErrno(err, 'ENOENT')) return undefined;
        throw err;
      });
      if (info?.isFile()) {
        entries.push({ key, uri: pathToFileURL(path).href, size: info.size, lastModified: info.mtime });
      }
    });
    return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  close(): void {}

  private async walk(folderKey: string, visit: (key: string, path: string) => Promise<void>): Promise<void> {
    const folder = folderKey === '' ? this.root : join(this.root, ...folderKey.split('/'));
    let names;
    try {
      names = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
      throw err;
    }
    for (const entry of names) {
      if (isPartialName(entry.name)) continue;
      const key = folderKey === '' ? entry.name : `${folderKey}/${entry.name}`;
      if (entry.isDirectory()) await this.walk(key, visit);
      else if (entry.isFile()) await visit(key, join(folder, entry.name));
    }
  }

  private pathForKey(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split('/'));
  }

  private pathForUri(uri: string): string {
    if (typeof uri !== 'string' || !uri.startsWith('file://')) {
      const kind = typeof uri === 'string' && uri.startsWith('s3://') ? 'an s3:// URI' : `"${uri}"`;
      throw new ShepherdError('bad_request', `the local artifact store reads file:// URIs only, got ${kind}`);
    }
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new ShepherdError('bad_request', `malformed artifact URI "${uri}": ${errorMessage(err)}`);
    }
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new ShepherdError('bad_request', `artifact URI ${uri} is outside this store (${this.root})`);
    }
    validateKey(rel.split(sep).join('/'));
    return path;
  }
}

/**
 * Writes through a temp file in the target's own folder (same filesystem, so the rename is
 * atomic) and renames it into place only when `write` succeeded.
 */
async function writeAtomically(target: string, write: (temp: string) => Promise<void>): Promise<void> {
  const temp = join(
    dirname(target),
    `.${basename(target)}.${randomBytes(6).toString('hex')}${partialSuffix}`,
  );
  try {
    await write(temp);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    if (err instanceof ShepherdError) throw err;
    throw new ShepherdError('internal', `could not write ${target}: ${errorMessage(err)}`, { cause: err });
  }
}

async function openSourceFile(path: string) {
  const info = await stat(path).catch((err: unknown) => {
    throw new ShepherdError('bad_request', `cannot read source file ${path}: ${errorMessage(err)}`);
  });
  if (!info.isFile()) throw new ShepherdError('bad_request', `source ${path} is not a regular file`);
  return createReadStream(path);
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function fsError(err: unknown, uri: string, action: string): ShepherdError {
  if (err instanceof ShepherdError) return err;
  if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'EISDIR')) {
    return new ShepherdError('not_found', `artifact not found: ${uri}`, { cause: err });
  }
  return new ShepherdError('internal', `could not ${action} ${uri}: ${errorMessage(err)}`, { cause: err });
}
