/**
 * An incremental parser for `text/event-stream` (the WHATWG "server-sent events" format): feed it
 * text as it arrives, in chunks of any size, and it returns the events completed so far. The
 * dashboard reads the stream with fetch (to send its token in a header), so it parses it itself.
 */

export interface ServerSentEvent {
  /** `message` when the event names no type. */
  event: string;
  data: string;
  /** The `id` field of this event, if it had one. */
  id?: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  private seenBom = false;
  /** The stream's last event id, carried over events without one (what Last-Event-ID sends). */
  lastEventId: string | undefined;
  /** The reconnection delay the server asked for, in milliseconds. */
  retryMs: number | undefined;

  push(chunk: string): ServerSentEvent[] {
    let text = this.buffer + chunk;
    if (!this.seenBom && text.length > 0) {
      this.seenBom = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (;;) {
      const lf = text.indexOf('\n', start);
      const cr = text.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        // A CR at the very end may be the first half of CRLF: wait for the next chunk.
        if (cr === text.length - 1) break;
        end = cr;
        next = text[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf >= 0) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const event = this.line(text.slice(start, end));
      if (event) events.push(event);
      start = next;
    }
    this.buffer = text.slice(start);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        // An id containing NUL is ignored, as the standard says.
        if (!value.includes('\u0000')) {
          this.id = value;
          this.lastEventId = value;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const hadData = this.data.length > 0;
    const event: ServerSentEvent = {
      event: this.event || 'message',
      data: this.data.join('\n'),
      ...(this.id === undefined ? {} : { id: this.id }),
    };
    this.event = '';
    this.data = [];
    this.id = undefined;
    return hadData ? event : undefined;
  }
}
