import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, lazyChildLogger } from '../src/logger.ts';

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

describe('lazy child logger', () => {
  it('makes no child until it writes a line, then writes through one child with its bindings', () => {
    const { lines, stream } = capture();
    const parent = createLogger('test', 'info', stream);
    const child = vi.spyOn(parent, 'child');
    const logger = lazyChildLogger(parent, { reqId: 'r-1' });

    logger.debug('below the level');
    expect(logger.isLevelEnabled('debug')).toBe(false);
    expect(logger.level).toBe('info');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    logger.error({ token: 'shp_secret' }, 'it failed');
    logger.warn('again');
    expect(child).toHaveBeenCalledTimes(1);
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toMatchObject({ reqId: 'r-1', msg: 'it failed', token: '[redacted]', level: 50 });
    expect(second).toMatchObject({ reqId: 'r-1', msg: 'again', level: 40 });
    expect(logger.bindings()).toMatchObject({ reqId: 'r-1' });
  });
});
