import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, parsePayloadKeys } from '../src/codec.ts';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

describe('AES-GCM payload codec', () => {
  const secret = { dataUri: 's3://bucket/training-sets/secret.csv', amount: 1234.5 };
  const payload = defaultPayloadConverter.toPayload(secret);

  it('round-trips a payload and leaves no plaintext in the sealed bytes', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(key('k1')));
    const [sealed] = await codec.encode([payload]);
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('secret.csv');
    expect(new TextDecoder().decode(sealed!.metadata!.encoding)).toBe('binary/encrypted');
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(secret);
  });

  it('refuses a tampered payload', async () => {
    const codec = new AesGcmPayloadCodec(parsePayloadKeys(key('k1')));
    const [sealed] = await codec.encode([payload]);
    const bytes = Buffer.from(sealed!.data!);
    bytes[20] = bytes[20]! ^ 0xff;
    await expect(codec.decode([{ ...sealed!, data: bytes }])).rejects.toThrow(/authenticate/);
  });

  it('decrypts with an older key after rotation, and names an unknown key', async () => {
    const old = key('2026-10');
    const [sealed] = await new AesGcmPayloadCodec(parsePayloadKeys(old)).encode([payload]);
    const rotated = new AesGcmPayloadCodec(parsePayloadKeys(`${key('2026-11')},${old}`));
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([sealed!]))[0]!)).toEqual(secret);
    await expect(new AesGcmPayloadCodec(parsePayloadKeys(key('other'))).decode([sealed!])).rejects.toThrow(
      /unknown key '2026-10'/,
    );
  });

  it('rejects malformed key configuration', () => {
    expect(() => parsePayloadKeys('nokey')).toThrow(/id:base64 of 32 bytes/);
    expect(() => parsePayloadKeys(`k:${randomBytes(16).toString('base64')}`)).toThrow(/32 bytes/);
  });
});
