import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, stream };
}

describe('logger redaction', () => {
  it('never writes secrets, wherever they sit in the logged object', () => {
    const { lines, stream } = capture();
    const logger = createLogger('test', 'info', stream);
    logger.info(
      {
        token: 'shp_supersecretvalue',
        password: 'hunter2',
        req: { headers: { authorization: 'Bearer shp_abc', cookie: 'session=1' } },
        s3: { secretAccessKey: 'AKIA-secret', region: 'us-east-1' },
        mlflow: { apiKey: 'k-123', url: 'http://127.0.0.1:5500' },
      },
      'calling out',
    );
    const line = lines.join('');
    for (const secret of [
      'shp_supersecretvalue',
      'hunter2',
      'shp_abc',
      'session=1',
      'AKIA-secret',
      'k-123',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('[redacted]');
    expect(line).toContain('us-east-1');
    expect(line).toContain('http://127.0.0.1:5500');
  });
});
