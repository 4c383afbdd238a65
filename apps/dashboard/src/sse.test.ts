import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.ts';

describe('SseParser', () => {
  it('parses named events with ids, whatever the chunk boundaries', () => {
    const stream =
      'retry: 2000\n\n: a comment\nid: 7\nevent: audit\ndata: {"id":7}\n\nevent: heartbeat\ndata: {}\n\n';
    for (let size = 1; size <= stream.length; size += 1) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
      expect(events, `chunks of ${size}`).toEqual([
        { event: 'audit', data: '{"id":7}', id: '7' },
        { event: 'heartbeat', data: '{}' },
      ]);
      expect(parser.lastEventId).toBe('7');
      expect(parser.retryMs).toBe(2000);
    }
  });

  it('joins data lines, accepts CRLF and CR, and defaults the type to message', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\r\ndata:two\r\n\r\ndata: three\r\rdata')).toEqual([
      { event: 'message', data: 'one\ntwo' },
      { event: 'message', data: 'three' },
    ]);
    // A field without a colon is a field with an empty value.
    expect(parser.push('\n\n')).toEqual([{ event: 'message', data: '' }]);
  });

  it('waits for the LF of a CRLF split across chunks', () => {
    const parser = new SseParser();
    expect(parser.push('data: x\r')).toEqual([]);
    expect(parser.push('\n\r\n')).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('dispatches nothing for a block without data, but keeps its id', () => {
    const parser = new SseParser();
    expect(parser.push('id: 12\nevent: audit\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('12');
    expect(parser.push('data: after\n\n')).toEqual([{ event: 'message', data: 'after' }]);
    expect(parser.lastEventId).toBe('12');
  });

  it('ignores a leading byte-order mark, unknown fields and a malformed retry', () => {
    const parser = new SseParser();
    expect(parser.push('\uFEFFdata: a\nfoo: bar\nretry: soon\n\n')).toEqual([
      { event: 'message', data: 'a' },
    ]);
    expect(parser.retryMs).toBeUndefined();
  });
});
