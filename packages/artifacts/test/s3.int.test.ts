import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3 } from '@shepherd/clients/s3';
import { ShepherdError } from '@shepherd/core/errors';
import { testEnv } from '@shepherd/testing/env';
import { createArtifactStore, S3ArtifactStore, type ArtifactStore } from '../src/store.ts';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
// Buffer.compare rather than toEqual: deep equality walks a Buffer byte by byte and takes seconds per MB.

async function rejection(promise: Promise<unknown>): Promise<ShepherdError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShepherdError);
  return err as ShepherdError;
}

describe('S3ArtifactStore against the local S3-compatible server', () => {
  const env = testEnv();
  // A fresh prefix per run keeps runs apart in the shared bucket.
  const prefix = `tests/artifacts/${randomUUID()}/`;
  const rawClient = createS3({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  });
  let store: ArtifactStore;
  let dir: string;

  beforeAll(async () => {
    store = createArtifactStore({ ...env, S3_PREFIX: prefix });
    dir = await mkdtemp(join(tmpdir(), 'shepherd-s3-artifacts-'));
  });
  afterAll(async () => {
    for (const entry of await store.list()) await store.delete(entry.uri);
    store.close();
    rawClient.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('is the S3 store, with s3://bucket/prefix/key URIs', () => {
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.uriFor('m/model.onnx')).toBe(`s3://${env.S3_BUCKET}/${prefix}m/model.onnx`);
  });

  it('puts bytes, a file and a stream; gets, verifies and downloads them byte for byte', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const fromBytes = await store.put('models/fraud/1/model.onnx', bytes);
    expect(fromBytes).toEqual({
      uri: `s3://${env.S3_BUCKET}/${prefix}models/fraud/1/model.onnx`,
      sha256: sha(bytes),
      size: bytes.length,
    });
    expect(Buffer.compare(await store.getVerified(fromBytes.uri, fromBytes.sha256), bytes)).toBe(0);

    const file = join(dir, 'training-set.csv');
    const fileBody = Buffer.from('a,b,label\n1,2,0\n3,4,1\n'.repeat(10_000));
    await writeFile(file, fileBody);
    const fromFile = await store.put('training-sets/ts-1/rows.csv', { path: file });
    expect(fromFile).toMatchObject({ sha256: sha(fileBody), size: fileBody.length });
    expect(Buffer.compare(await store.get(fromFile.uri), fileBody)).toBe(0);

    const streamBody = randomBytes(1024 * 1024 + 17);
    const chunks = Array.from({ length: 9 }, (_, i) => streamBody.subarray(i * 120_000, (i + 1) * 120_000));
    const fromStream = await store.put('reports/r.bin', Readable.from(chunks));
    expect(fromStream).toMatchObject({ sha256: sha(streamBody), size: streamBody.length });

    const target = join(dir, 'downloads', 'model.onnx');
    expect(await store.download(fromBytes.uri, target, fromBytes.sha256)).toEqual({
      sha256: fromBytes.sha256,
      size: bytes.length,
    });
    expect(Buffer.compare(await readFile(target), bytes)).toBe(0);
  });

  it('stores the sha256 as object metadata and as the S3 checksum', async () => {
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const body = Buffer.from('metadata check');
    const put = await store.put('meta/obj.bin', body);
    const head = await rawClient.send(
      new HeadObjectCommand({ Bucket: env.S3_BUCKET, Key: `${prefix}meta/obj.bin`, ChecksumMode: 'ENABLED' }),
    );
    expect(head.Metadata?.sha256).toBe(put.sha256);
    expect(head.ChecksumSHA256).toBe(Buffer.from(put.sha256, 'hex').toString('base64'));
  });

  it('refuses an artifact that was overwritten behind its back', async () => {
    const put = await store.put('models/tampered.onnx', Buffer.from('the real model'));
    const tampered = Buffer.from('a tampered model');
    await rawClient.send(
      new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: `${prefix}models/tampered.onnx`, Body: tampered }),
    );

    const err = await rejection(store.getVerified(put.uri, put.sha256));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toContain(put.uri);
    expect(err.message).toContain(put.sha256);
    expect(err.message).toContain(sha(tampered));

    const target = join(dir, 'refused', 'model.onnx');
    expect((await rejection(store.download(put.uri, target, put.sha256))).code).toBe('unprocessable');
    expect(await readdir(join(dir, 'refused'))).toEqual([]);
  });

  it('lists by prefix, answers exists, deletes idempotently and maps a missing object to not_found', async () => {
    await store.put('list/a/1.bin', Buffer.from('1'));
    await store.put('list/a/2.bin', Buffer.from('22'));
    await store.put('list/b.bin', Buffer.from('333'));
    const listed = await store.list('list/');
    expect(listed.map((entry) => [entry.key, entry.size])).toEqual([
      ['list/a/1.bin', 1],
      ['list/a/2.bin', 2],
      ['list/b.bin', 3],
    ]);
    expect(listed[0]?.uri).toBe(store.uriFor('list/a/1.bin'));
    expect(listed[0]?.lastModified).toBeInstanceOf(Date);
    expect((await store.list('list/a')).length).toBe(2);

    const uri = store.uriFor('list/b.bin');
    expect(await store.exists(uri)).toBe(true);
    await store.delete(uri);
    await store.delete(uri);
    expect(await store.exists(uri)).toBe(false);
    const missing = await rejection(store.get(uri));
    expect(missing.code).toBe('not_found');
    expect(missing.message).toContain(uri);
  });

  it('lists more than one page', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `paged/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, Buffer.from(key))));
    }
    const listed = await store.list('paged/');
    expect(listed.map((entry) => entry.key)).toEqual(keys);
  });

  it('rejects file:// URIs and URIs outside its bucket and prefix', async () => {
    for (const uri of [
      'file:///tmp/model.onnx',
      `s3://other-bucket/${prefix}m.onnx`,
      `s3://${env.S3_BUCKET}/not-my-prefix/m.onnx`,
      `s3://${env.S3_BUCKET}/${prefix}../escape`,
    ]) {
      expect((await rejection(store.get(uri))).code).toBe('bad_request');
    }
  });

  it('reports an unreachable server as upstream_unavailable', async () => {
    const dead = createArtifactStore({ ...env, S3_ENDPOINT: 'http://127.0.0.1:1' });
    const err = await rejection(dead.exists(dead.uriFor('x')));
    expect(err.code).toBe('upstream_unavailable');
    dead.close();
  });
});
