/** What `put` accepts: bytes in memory, a file on disk, or a stream (Node Readable, web stream, async iterable). */
export type PutSource = Uint8Array | { path: string } | AsyncIterable<Uint8Array>;

export interface PutResult {
  uri: string;
  /** Lowercase hex sha256 of exactly the bytes stored. */
  sha256: string;
  size: number;
}

export interface ArtifactEntry {
  /** The key relative to the store's root, as passed to `put`. */
  key: string;
  uri: string;
  size: number;
  lastModified: Date | undefined;
}

/**
 * Where models, training sets and reports live. Keys are relative slash-separated paths
 * (`models/fraud/3/model.onnx`); URIs are what gets recorded (`s3://bucket/prefix/key` or
 * `file:///abs/root/key`). A store only reads and writes inside its own root (directory, or
 * bucket + prefix): a URI of the other kind or outside the root is the caller's mistake
 * (`bad_request`), so a URI taken from a request can never reach arbitrary files or buckets.
 */
export interface ArtifactStore {
  readonly kind: 'local' | 's3';
  /** The URI `put(key, …)` would return, without writing anything. */
  uriFor(key: string): string;
  /** Writes atomically: readers see the previous object or the complete new one, never a part. */
  put(key: string, source: PutSource): Promise<PutResult>;
  get(uri: string): Promise<Buffer>;
  /** Like `get`, but refuses (code `unprocessable`) bytes whose sha256 is not `expectedSha256`. */
  getVerified(uri: string, expectedSha256: string): Promise<Buffer>;
  /**
   * Streams the artifact to `toPath` (parent directories are created), verifying its sha256 on
   * the way; `toPath` only appears, complete, once the bytes are verified.
   */
  download(uri: string, toPath: string, expectedSha256: string): Promise<{ sha256: string; size: number }>;
  exists(uri: string): Promise<boolean>;
  /** Idempotent: deleting a missing artifact is not an error. */
  delete(uri: string): Promise<void>;
  /** Entries whose key starts with `prefix` (a plain string prefix, as in S3), sorted by key. */
  list(prefix?: string): Promise<ArtifactEntry[]>;
  /** Releases the client a store created itself; the store is unusable afterwards. */
  close(): void;
}
