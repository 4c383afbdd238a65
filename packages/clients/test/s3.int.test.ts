import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '@shepherd/testing/env';
import { createS3 } from '../src/s3.ts';

describe('S3-compatible server', () => {
  const env = testEnv();
  const s3 = createS3({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  });
  const prefix = `tests/${randomUUID()}/`;

  afterAll(() => s3.destroy());

  it('puts, gets, lists and deletes a 5 MB object byte for byte', async () => {
    const body = randomBytes(5 * 1024 * 1024);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const key = `${prefix}model.onnx`;

    await s3.send(
      new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: key, Body: body, Metadata: { sha256 } }),
    );

    const head = await s3.send(new HeadObjectCommand({ Bucket: env.S3_BUCKET, Key: key }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.Metadata?.sha256).toBe(sha256);

    const got = await s3.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: env.S3_BUCKET, Prefix: prefix }));
    expect(listed.Contents?.map((object) => [object.Key, object.Size])).toEqual([[key, body.length]]);

    await s3.send(new DeleteObjectCommand({ Bucket: env.S3_BUCKET, Key: key }));
    const afterDelete = await s3.send(new ListObjectsV2Command({ Bucket: env.S3_BUCKET, Prefix: prefix }));
    expect(afterDelete.KeyCount).toBe(0);
    await expect(s3.send(new HeadObjectCommand({ Bucket: env.S3_BUCKET, Key: key }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
