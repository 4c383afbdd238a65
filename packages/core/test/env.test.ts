import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnv } from '../src/env.ts';

const schema = z.object({ AWS_SECRET_ACCESS_KEY: z.string().min(8), PORT: z.coerce.number().default(1) });

describe('parseEnv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shepherd-env-'));

  it('reads a secret from the file X_FILE names, without its trailing newline', () => {
    const file = join(dir, 'secret');
    writeFileSync(file, 'from-a-mounted-secret\n');
    expect(parseEnv(schema, { AWS_SECRET_ACCESS_KEY_FILE: file })).toEqual({
      AWS_SECRET_ACCESS_KEY: 'from-a-mounted-secret',
      PORT: 1,
    });
  });

  it('names the variable when its file cannot be read, or when both forms are set', () => {
    expect(() => parseEnv(schema, { AWS_SECRET_ACCESS_KEY_FILE: join(dir, 'missing') })).toThrow(
      /AWS_SECRET_ACCESS_KEY_FILE: cannot read .*missing \(ENOENT\)/,
    );
    const file = join(dir, 'secret2');
    writeFileSync(file, 'x'.repeat(10));
    expect(() =>
      parseEnv(schema, { AWS_SECRET_ACCESS_KEY: 'inline-secret', AWS_SECRET_ACCESS_KEY_FILE: file }),
    ).toThrow(/set either AWS_SECRET_ACCESS_KEY or AWS_SECRET_ACCESS_KEY_FILE, not both/);
  });

  it('validates a value read from a file like any other, without echoing it', () => {
    const file = join(dir, 'short');
    writeFileSync(file, 'short');
    expect(() => parseEnv(schema, { AWS_SECRET_ACCESS_KEY_FILE: file })).toThrow(
      /AWS_SECRET_ACCESS_KEY: Too small/,
    );
    try {
      parseEnv(schema, { AWS_SECRET_ACCESS_KEY_FILE: file });
    } catch (err) {
      expect((err as Error).message).not.toContain('short');
    }
  });
});
