import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type Reply =
  | { status?: number; json: unknown }
  | { status: number; text: string; contentType?: string }
  /** Never answer: the client's timeout is the only way out. */
  | { hang: true }
  /** Send headers and part of a JSON body, then stall: the timeout must cover reading the body. */
  | { stallBody: true }
  /** Drop the connection without an answer. */
  | { destroy: true };

export interface FakeServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A stand-in for MLflow's HTTP surface: enough to drive the client's error paths deterministically. */
export async function startFakeServer(
  handle: (request: RecordedRequest) => Reply | Promise<Reply>,
): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    void serve(req, res);
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: raw === '' ? undefined : (JSON.parse(raw) as unknown),
    };
    requests.push(recorded);
    const reply = await handle(recorded);
    if ('hang' in reply) return;
    if ('destroy' in reply) {
      req.socket.destroy();
      return;
    }
    if ('stallBody' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"experiment": {');
      return;
    }
    if ('json' in reply) {
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.json));
      return;
    }
    res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain' });
    res.end(reply.text);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hanging requests keep sockets open; without this close() would wait for them forever.
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** MLflow's error body, as its handlers send it. */
export function mlflowError(status: number, errorCode: string, message: string): Reply {
  return { status, json: { error_code: errorCode, message, sqlstate: 'KAM00', error_class: errorCode } };
}
