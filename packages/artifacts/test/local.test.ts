import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { createArtifactStore, LocalArtifactStore, S3ArtifactStore } from '../src/store.ts';

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

describe('LocalArtifactStore', () => {
  let dir: string;
  let store: LocalArtifactStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shepherd-artifacts-'));
    store = new LocalArtifactStore({ root: join(dir, 'store') });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts bytes and reads them back with their sha256 and size', async () => {
    const body = randomBytes(100_000);
    const put = await store.put('models/fraud/1/model.onnx', body);
    expect(put).toEqual({
      uri: pathToFileURL(join(dir, 'store', 'models', 'fraud', '1', 'model.onnx')).href,
      sha256: sha(body),
      size: body.length,
    });
    expect(put.uri).toBe(store.uriFor('models/fraud/1/model.onnx'));
    expect(Buffer.compare(await store.get(put.uri), body)).toBe(0);
    expect(Buffer.compare(await store.getVerified(put.uri, put.sha256.toUpperCase()), body)).toBe(0);
    expect(await store.exists(put.uri)).toBe(true);
  });

  it('puts from a file path and from a stream, hashing as it writes', async () => {
    const body = randomBytes(300_000);
    const source = join(dir, 'source.bin');
    await writeFile(source, body);
    const fromFile = await store.put('a/from-file.bin', { path: source });
    expect(fromFile.sha256).toBe(sha(body));
    expect(fromFile.size).toBe(body.length);

    const chunks = [body.subarray(0, 1000), body.subarray(1000, 150_000), body.subarray(150_000)];
    const fromStream = await store.put('a/from-stream.bin', Readable.from(chunks));
    expect(fromStream).toMatchObject({ sha256: sha(body), size: body.length });
    expect(Buffer.compare(await store.get(fromStream.uri), body)).toBe(0);

    async function* generate() {
      yield new TextEncoder().encode('hello ');
      yield new TextEncoder().encode('world');
    }
    const fromIterable = await store.put('a/from-iterable.txt', generate());
    expect((await store.get(fromIterable.uri)).toString()).toBe('hello world');
  });

  it('refuses a tampered artifact, naming the uri and both hashes', async () => {
    const body = Buffer.from('the real model');
    const put = await store.put('models/m.onnx', body);
    await writeFile(join(dir, 'store', 'models', 'm.onnx'), 'a tampered model');
    const actual = sha(Buffer.from('a tampered model'));

    const err = await rejection(store.getVerified(put.uri, put.sha256));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toContain(put.uri);
    expect(err.message).toContain(put.sha256);
    expect(err.message).toContain(actual);
    expect(err.details).toEqual({
      reason: 'artifact_integrity',
      uri: put.uri,
      expectedSha256: put.sha256,
      actualSha256: actual,
    });

    const target = join(dir, 'out', 'model.onnx');
    const downloadErr = await rejection(store.download(put.uri, target, put.sha256));
    expect(downloadErr.code).toBe('unprocessable');
    // Nothing is left behind: neither the target nor the temp file.
    expect(await readdir(join(dir, 'out'))).toEqual([]);
  });

  it('downloads a verified copy', async () => {
    const body = randomBytes(50_000);
    const put = await store.put('x/y.bin', body);
    const target = join(dir, 'deep', 'er', 'copy.bin');
    expect(await store.download(put.uri, target, put.sha256)).toEqual({
      sha256: put.sha256,
      size: body.length,
    });
    expect(Buffer.compare(await readFile(target), body)).toBe(0);
  });

  it('never exposes a half-written file: a failing stream leaves the previous version', async () => {
    const put = await store.put('m/model.onnx', Buffer.from('version 1'));
    async function* failing() {
      yield Buffer.from('version 2, first half');
      throw new Error('connection reset');
    }
    const err = await rejection(store.put('m/model.onnx', failing()));
    expect(err.message).toContain('connection reset');
    expect((await store.get(put.uri)).toString()).toBe('version 1');
    expect(await readdir(join(dir, 'store', 'm'))).toEqual(['model.onnx']);
  });

  it('lists by key prefix, sorted, hiding in-progress writes', async () => {
    await store.put('runs/b/model.onnx', Buffer.from('b'));
    await store.put('runs/a/model.onnx', Buffer.from('aa'));
    await store.put('runs/a/report.json', Buffer.from('{}'));
    await store.put('runsheet.csv', Buffer.from('x'));
    await store.put('other/file', Buffer.from('x'));
    await writeFile(join(dir, 'store', 'runs', 'a', '.model.onnx.abc123.partial'), 'half');

    const all = await store.list('runs');
    expect(all.map((entry) => entry.key)).toEqual([
      'runs/a/model.onnx',
      'runs/a/report.json',
      'runs/b/model.onnx',
      'runsheet.csv',
    ]);
    expect((await store.list('runs/')).map((entry) => entry.key)).toEqual([
      'runs/a/model.onnx',
      'runs/a/report.json',
      'runs/b/model.onnx',
    ]);
    const [first] = await store.list('runs/a/m');
    expect(first).toMatchObject({
      key: 'runs/a/model.onnx',
      size: 2,
      uri: store.uriFor('runs/a/model.onnx'),
    });
    expect(first?.lastModified).toBeInstanceOf(Date);
    expect(await store.list('nothing/here/')).toEqual([]);
    expect((await store.list()).length).toBe(5);
  });

  it('deletes idempotently', async () => {
    const put = await store.put('d/e.bin', Buffer.from('x'));
    await store.delete(put.uri);
    expect(await store.exists(put.uri)).toBe(false);
    await store.delete(put.uri);
    const err = await rejection(store.get(put.uri));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(put.uri);
  });

  it('keeps URIs with spaces and unusual characters round-trippable', async () => {
    const put = await store.put('we ird/na%me #1?.bin', Buffer.from('x'));
    expect(put.uri).not.toContain(' ');
    expect((await store.get(put.uri)).toString()).toBe('x');
    expect((await store.list('we ird/'))[0]?.key).toBe('we ird/na%me #1?.bin');
  });

  it.each([
    ['', 'empty'],
    ['/abs/key', 'relative'],
    ['a/../../etc/passwd', '".."'],
    ['a//b', 'empty path segment'],
    ['a/./b', '"."'],
    ['folder/', 'trailing'],
    ['a\\b', 'backslash'],
    ['a/.b.partial', 'reserved'],
  ])('rejects the key %j', async (key, reason) => {
    const err = await rejection(store.put(key, Buffer.from('x')));
    expect(err.code).toBe('bad_request');
    expect(err.message).toContain(reason);
  });

  it.each([
    ['s3://shepherd-artifacts/models/m.onnx', 'file:// URIs only'],
    ['https://example.com/m.onnx', 'file:// URIs only'],
    ['not a uri', 'file:// URIs only'],
    ['file://remote-host/tmp/m.onnx', 'malformed'],
    ['file:///etc/passwd', 'outside this store'],
  ])('rejects the URI %j', async (uri, reason) => {
    for (const attempt of [
      store.get(uri),
      store.exists(uri),
      store.delete(uri),
      store.getVerified(uri, 'a'.repeat(64)),
    ]) {
      const err = await rejection(attempt);
      expect(err.code).toBe('bad_request');
      expect(err.message).toContain(reason);
    }
  });

  it('rejects a URI that climbs out of the root through an encoded ".."', async () => {
    const uri = `${pathToFileURL(join(dir, 'store')).href}/a/%2E%2E/%2E%2E/secret`;
    const err = await rejection(store.get(uri));
    expect(err.code).toBe('bad_request');
  });

  it('rejects a malformed expected sha256 and a missing source file', async () => {
    const put = await store.put('k', Buffer.from('x'));
    expect((await rejection(store.getVerified(put.uri, 'abc'))).code).toBe('bad_request');
    const missing = await rejection(store.put('k2', { path: join(dir, 'missing.bin') }));
    expect(missing.code).toBe('bad_request');
    expect(missing.message).toContain('missing.bin');
  });
});

describe('createArtifactStore', () => {
  it('picks S3 when S3_ENDPOINT is set and the local directory otherwise', () => {
    const s3 = createArtifactStore({
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'shepherd-artifacts',
      S3_PREFIX: 'staging',
    });
    expect(s3).toBeInstanceOf(S3ArtifactStore);
    expect(s3.uriFor('m/model.onnx')).toBe('s3://shepherd-artifacts/staging/m/model.onnx');
    s3.close();

    const local = createArtifactStore({ ARTIFACT_DIR: '/var/lib/shepherd/artifacts' });
    expect(local).toBeInstanceOf(LocalArtifactStore);
    expect(local.uriFor('m/model.onnx')).toBe('file:///var/lib/shepherd/artifacts/m/model.onnx');
  });

  it('names the missing variable', () => {
    expect(() => createArtifactStore({ S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/S3_BUCKET/);
    expect(() => createArtifactStore({})).toThrow(/ARTIFACT_DIR/);
  });

  it('rejects the other kind of URI in the S3 store without a request', async () => {
    const s3 = createArtifactStore({ S3_ENDPOINT: 'http://127.0.0.1:1', S3_BUCKET: 'shepherd-artifacts' });
    const err = await rejection(s3.get('file:///tmp/m.onnx'));
    expect(err.code).toBe('bad_request');
    expect(err.message).toContain('s3:// URIs only');
    for (const uri of [
      's3://other-bucket/m.onnx',
      's3://shepherd-artifacts/',
      's3://shepherd-artifacts',
      's3:///m',
    ]) {
      expect((await rejection(s3.exists(uri))).code).toBe('bad_request');
    }
    s3.close();
  });
});
