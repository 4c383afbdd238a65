import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ShepherdError } from '@shepherd/core/errors';
import {
  errorMessage,
  HashingStream,
  integrityError,
  isBytes,
  isPathSource,
  normalizeSha256,
  partialSuffix,
  sha256Hex,
  validateKey,
  validatePrefix,
  getVerified,
} from './common.ts';
import type { ArtifactEntry, ArtifactStore, PutResult, PutSource } from './types.ts';

/** S3's limit for a single PutObject; larger objects need a multipart upload. */
export const maxSinglePutBytes = 5 * 1024 ** 3;

export interface S3ArtifactStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix inside the bucket ("" or ending with "/"), e.g. "prod/". */
  prefix?: string;
  /** Whether `close()` destroys `client` (true when the store created it). */
  ownsClient?: boolean;
  /** Where stream sources are spooled before upload; defaults to the OS temp dir. */
  spoolDir?: string;
}

/**
 * Artifacts in an S3 bucket (AWS or any S3-compatible server), URIs `s3://bucket/prefix/key`.
 * Every write is one PutObject carrying the sha256 both as metadata (read back by tools) and as
 * `x-amz-checksum-sha256`, so the server itself rejects a body that does not match it.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly spoolDir: string | undefined;

  constructor(options: S3ArtifactStoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new ShepherdError('bad_request', `invalid S3 bucket name "${options.bucket}"`);
    }
    const prefix = options.prefix ?? '';
    if (prefix !== '') {
      if (!prefix.endsWith('/')) {
        throw new ShepherdError('bad_request', `S3 key prefix must end with "/", got "${prefix}"`);
      }
      validatePrefix(prefix);
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.ownsClient = options.ownsClient ?? false;
    this.spoolDir = options.spoolDir;
  }

  uriFor(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  async put(key: string, source: PutSource): Promise<PutResult> {
    const objectKey = this.objectKey(key);
    const uri = `s3://${this.bucket}/${objectKey}`;
    if (isBytes(source)) {
      const sha256 = sha256Hex(source);
      await this.putObject(uri, objectKey, source, source.byteLength, sha256);
      return { uri, sha256, size: source.byteLength };
    }
    if (isPathSource(source)) return this.putFile(uri, objectKey, source.path);
    // PutObject needs the length and the checksum before the body, so a stream of unknown
    // length is spooled to disk first (hashing as it is written), then uploaded from there.
    const spool = await mkdtemp(join(this.spoolDir ?? tmpdir(), 'shepherd-artifact-'));
    try {
      const file = join(spool, 'body');
      const hashing = new HashingStream();
      try {
        await pipeline(Readable.from(source), hashing, createWriteStream(file));
      } catch (err) {
        throw new ShepherdError(
          'internal',
          `could not read the source stream for ${uri}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      const sha256 = hashing.digest();
      await this.putObject(uri, objectKey, createReadStream(file), hashing.size, sha256);
      return { uri, sha256, size: hashing.size };
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  }

  async get(uri: string): Promise<Buffer> {
    const objectKey = this.keyForUri(uri);
    const response = await this.send(uri, 'GetObject', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey })),
    );
    if (!response.Body) throw new ShepherdError('upstream_unavailable', `S3 returned no body for ${uri}`);
    const bytes = await response.Body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
    const objectKey = this.keyForUri(uri);
    const destination = resolve(toPath);
    await mkdir(dirname(destination), { recursive: true });
    const response = await this.send(uri, 'GetObject', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey })),
    );
    if (!(response.Body instanceof Readable)) {
      throw new ShepherdError('upstream_unavailable', `S3 returned no readable body for ${uri}`);
    }
    const temp = join(
      dirname(destination),
      `.${basename(destination)}.${randomBytes(6).toString('hex')}${partialSuffix}`,
    );
    const hashing = new HashingStream();
    try {
      try {
        await pipeline(response.Body, hashing, createWriteStream(temp, { flags: 'wx', flush: true }));
      } catch (err) {
        throw new ShepherdError('upstream_unavailable', `download of ${uri} failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      const actual = hashing.digest();
      if (actual !== expected) throw integrityError(uri, expected, actual);
      await rename(temp, destination);
      return { sha256: actual, size: hashing.size };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async exists(uri: string): Promise<boolean> {
    const objectKey = this.keyForUri(uri);
    try {
      await this.send(uri, 'HeadObject', () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey })),
      );
      return true;
    } catch (err) {
      if (err instanceof ShepherdError && err.code === 'not_found') return false;
      throw err;
    }
  }

  async delete(uri: string): Promise<void> {
    const objectKey = this.keyForUri(uri);
    await this.send(uri, 'DeleteObject', () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey })),
    );
  }

  async list(prefix = ''): Promise<ArtifactEntry[]> {
    validatePrefix(prefix);
    const entries: ArtifactEntry[] = [];
    let continuationToken: string | undefined;
    const where = `s3://${this.bucket}/${this.prefix}${prefix}`;
    do {
      const page = await this.send(where, 'ListObjectsV2', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ContinuationToken: continuationToken,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        entries.push({
          key: object.Key.slice(this.prefix.length),
          uri: `s3://${this.bucket}/${object.Key}`,
          size: object.Size ?? 0,
          lastModified: object.LastModified,
        });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private objectKey(key: string): string {
    return `${this.prefix}${validateKey(key)}`;
  }

  private keyForUri(uri: string): string {
    if (typeof uri !== 'string' || !uri.startsWith('s3://')) {
      const kind = typeof uri === 'string' && uri.startsWith('file://') ? 'a file:// URI' : `"${uri}"`;
      throw new ShepherdError('bad_request', `the S3 artifact store reads s3:// URIs only, got ${kind}`);
    }
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) {
      throw new ShepherdError('bad_request', `malformed artifact URI "${uri}": expected s3://bucket/key`);
    }
    const bucket = rest.slice(0, slash);
    const objectKey = rest.slice(slash + 1);
    if (bucket !== this.bucket || !objectKey.startsWith(this.prefix)) {
      throw new ShepherdError(
        'bad_request',
        `artifact URI ${uri} is outside this store (s3://${this.bucket}/${this.prefix})`,
      );
    }
    validateKey(objectKey.slice(this.prefix.length));
    return objectKey;
  }

  private async putFile(uri: string, objectKey: string, path: string): Promise<PutResult> {
    const info = await stat(path).catch((err: unknown) => {
      throw new ShepherdError('bad_request', `cannot read source file ${path}: ${errorMessage(err)}`);
    });
    if (!info.isFile()) throw new ShepherdError('bad_request', `source ${path} is not a regular file`);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    const sha256 = hash.digest('hex');
    // The upload carries this checksum, so a file that changes afterwards is refused by the
    // server rather than stored under the wrong hash; a size change is caught here already.
    if (size !== info.size) {
      throw new ShepherdError('conflict', `source file ${path} changed while it was being uploaded`);
    }
    await this.putObject(uri, objectKey, createReadStream(path), info.size, sha256);
    return { uri, sha256, size: info.size };
  }

  private async putObject(
    uri: string,
    objectKey: string,
    body: Uint8Array | Readable,
    size: number,
    sha256: string,
  ): Promise<void> {
    if (size > maxSinglePutBytes) {
      throw new ShepherdError(
        'payload_too_large',
        `artifact ${uri} is ${size} bytes; a single S3 PutObject takes at most ${maxSinglePutBytes}`,
      );
    }
    await this.send(uri, 'PutObject', () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: body,
          ContentLength: size,
          ContentType: 'application/octet-stream',
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
          Metadata: { sha256 },
        }),
      ),
    );
  }

  private async send<T>(uri: string, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw s3Error(err, uri, operation);
    }
  }
}

function s3Error(err: unknown, uri: string, operation: string): ShepherdError {
  if (err instanceof ShepherdError) return err;
  const name = (err as { name?: unknown })?.name;
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new ShepherdError('not_found', `artifact not found: ${uri}`, { cause: err });
  }
  const detail = `S3 ${operation} ${uri} failed: ${typeof name === 'string' ? `${name}: ` : ''}${errorMessage(err)}`;
  if (
    name === 'BadDigest' ||
    name === 'XAmzContentChecksumMismatch' ||
    name === 'XAmzContentSHA256Mismatch'
  ) {
    return new ShepherdError('conflict', `${detail} (the body changed while it was being uploaded)`, {
      cause: err,
    });
  }
  // No status means the request never got an answer (refused, reset, timed out).
  if (status === undefined || status >= 500) {
    return new ShepherdError('upstream_unavailable', detail, { cause: err });
  }
  return new ShepherdError('internal', detail, { cause: err });
}
