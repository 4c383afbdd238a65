import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ShepherdError } from '@shepherd/core/errors';

// A CommonJS module: its named exports are not visible to ESM importers under plain Node.
const { temporal } = proto;
const encoding = 'binary/encrypted';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface PayloadKey {
  id: string;
  /** 32 bytes: AES-256-GCM. */
  key: Buffer;
}

/**
 * Parses SHEPHERD_PAYLOAD_KEYS: `id:base64key[,id:base64key…]`. The first key encrypts; all of them
 * decrypt, so a new key can be put first while histories written under the old one stay readable.
 */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const keys = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const separator = part.indexOf(':');
      const id = part.slice(0, separator);
      const key = Buffer.from(part.slice(separator + 1), 'base64');
      if (separator <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id) || key.length !== 32) {
        throw new ShepherdError('bad_request', 'each payload key must be id:base64 of 32 bytes (AES-256)');
      }
      return { id, key };
    });
  if (keys.length === 0) throw new ShepherdError('bad_request', 'no payload key given');
  return keys;
}

/**
 * Encrypts every Temporal payload (workflow inputs and results carry data locations and, later,
 * feature values) with AES-256-GCM, so the Temporal server and its database only ever hold
 * ciphertext. The whole payload, metadata included, is sealed; only the key id stays readable.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly active: PayloadKey;
  private readonly byId: Map<string, Buffer>;

  constructor(keys: PayloadKey[]) {
    if (keys.length === 0) throw new ShepherdError('bad_request', 'no payload key given');
    this.active = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.active.key, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: encoder.encode(encoding), 'encryption-key-id': encoder.encode(this.active.id) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (decoder.decode(payload.metadata?.encoding) !== encoding) return payload;
      const keyId = decoder.decode(payload.metadata?.['encryption-key-id']);
      const key = this.byId.get(keyId);
      if (!key) throw new ShepherdError('unprocessable', `payload encrypted with unknown key '${keyId}'`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const iv = data.subarray(0, 12);
      const tag = data.subarray(data.length - 16);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** The data converter option for clients and workers; plain payloads when no key is configured. */
export function dataConverterFor(keysText: string | undefined) {
  return keysText ? { payloadCodecs: [new AesGcmPayloadCodec(parsePayloadKeys(keysText))] } : undefined;
}
