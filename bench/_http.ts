/**
 * HTTP for the latency benchmarks: one keep-alive request helper, and the floor every HTTP figure
 * stands on (a bare node:http server in a process of its own, answering fixed bytes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, request, type Agent, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** One request, wherever it is sent from: this process (httpCall) or bench/loadgen. */
export interface HttpRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** JSON text; sent with content-type application/json. */
  body?: string;
}

export interface HttpCall extends HttpRequest {
  port: number;
}

/** Resolves once the whole response is read; anything but 200 rejects with the status and body. */
export function httpCall(agent: Agent, call: HttpCall): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...call.headers };
    if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(call.body);
    }
    const req = request(
      { host: '127.0.0.1', port: call.port, method: call.method ?? 'GET', path: call.path, agent, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200)
            reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
          else resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(call.body);
  });
}

/**
 * The HTTP floor: a node:http server in a child process that reads each request and answers with
 * the fixed body for its path (`bodies`, by path) and no other work. A request to it pays what every HTTP figure pays on this machine (two
 * processes woken per request, the loopback, the client) and nothing else, so a p99 against it
 * says what the server under test adds to the hop, and the floor's own p99 says how low any
 * server's p99 can be here.
 */
export async function startHttpFloor(
  bodies: Record<string, string>,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_HTTP_FLOOR_BODIES: JSON.stringify(bodies) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`HTTP floor server exited with code ${code}`)));
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.env.BENCH_HTTP_FLOOR_BODIES !== undefined) {
  const bodies = new Map(
    Object.entries(JSON.parse(process.env.BENCH_HTTP_FLOOR_BODIES) as Record<string, string>).map(
      ([path, body]) => [path, Buffer.from(body)],
    ),
  );
  const server = createServer((req, res) => {
    // Read the request as a real server must before answering it.
    req.resume();
    req.on('end', () => {
      const body = bodies.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
}
