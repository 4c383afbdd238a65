/**
 * `COPY … FROM STDIN` over a node-postgres client, without a streaming library: the whole payload
 * is in memory already (one Kafka batch), so it goes out as CopyData messages as soon as the server
 * asks for it. Uses node-postgres's Submittable interface (what pg-cursor and pg-query-stream use):
 * the client hands it the connection and forwards the server's messages to its handlers.
 */

/** The parts of node-postgres's connection a COPY needs. */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** A node-postgres client (or pool client): it accepts Submittables in `query`. */
export interface SubmittableClient {
  query(submittable: CopyFromStdin): unknown;
}

/** CopyData messages of at most this size: large enough to be cheap, small enough to interleave. */
const chunkBytes = 1 << 20;

class CopyFromStdin {
  private error: Error | undefined;
  private rowCount = 0;

  constructor(
    private readonly text: string,
    private readonly payload: Buffer,
    private readonly done: (error: Error | undefined, rowCount: number) => void,
  ) {}

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    for (let start = 0; start < this.payload.length; start += chunkBytes) {
      connection.sendCopyFromChunk(this.payload.subarray(start, start + chunkBytes));
    }
    connection.endCopyFrom();
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)$/.exec(message.text ?? '');
    this.rowCount = match ? Number(match[1]) : 0;
  }

  handleReadyForQuery(): void {
    this.done(this.error, this.rowCount);
  }

  /**
   * A server error ends the query: node-postgres drops it as the active query before the
   * ReadyForQuery that follows, so it is settled here. A socket error arrives the same way.
   */
  handleError(error: Error): void {
    this.error = error;
    this.done(error, 0);
  }

  // Not sent in answer to COPY FROM STDIN; present because the client calls them unchecked.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** Runs `text` (a `COPY … FROM STDIN` statement) with `payload` as its input; resolves to the rows copied. */
export function copyFromStdin(client: SubmittableClient, text: string, payload: Buffer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    client.query(
      new CopyFromStdin(text, payload, (error, rowCount) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(rowCount);
      }),
    );
  });
}

/**
 * One value of a COPY text-format row: backslash, tab, newline and carriage return are the
 * format's own characters and must be escaped; everything else goes as it is.
 */
export function copyText(value: string): string {
  return needsEscape.test(value) ? value.replace(escapable, escapeChar) : value;
}

const needsEscape = /[\\\t\n\r]/;
const escapable = /[\\\t\n\r]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const escapeChar = (char: string) => escapes[char]!;
