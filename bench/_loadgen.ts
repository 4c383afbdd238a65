/**
 * Fixed-rate HTTP load from a compiled client (bench/loadgen/loadgen.c) instead of this Node
 * process: on two shared cores the Node client's own event loop added about a millisecond to
 * every p99 it measured (loadgen.c says how that was found). Same semantics as atFixedRate: open
 * loop, latency from each request's due time, an unmeasured warm-up at the same rate first.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { warmupSeconds, type Latencies } from './_fixed-rate.ts';
import type { HttpRequest } from './_http.ts';

const run = promisify(execFile);
const source = fileURLToPath(new URL('./loadgen/loadgen.c', import.meta.url));
const binary = fileURLToPath(new URL('../.state/bench/loadgen', import.meta.url));

export interface LoadResult extends Latencies {
  p999: number;
  /** Measured requests (the warm-up's are not). */
  count: number;
  /** The first failure's text (status line and body, or the socket error), if any failed. */
  firstError?: string;
}

let built: Promise<string> | undefined;

/** Compiles the client once per process, and again only when its source is newer. */
export function buildLoadgen(): Promise<string> {
  built ??= (async () => {
    const [src, bin] = await Promise.all([stat(source), stat(binary).catch(() => undefined)]);
    if (bin && bin.mtimeMs >= src.mtimeMs) return binary;
    await mkdir(join(binary, '..'), { recursive: true });
    // Built under a name of its own and renamed, so a concurrent build never runs a half-written file.
    const partial = `${binary}.${process.pid}`;
    try {
      await run('cc', ['-O2', '-Wall', '-o', partial, source, '-lm']);
    } catch (err) {
      const detail = (err as { stderr?: string }).stderr || (err as Error).message;
      throw new Error(`building bench/loadgen needs a C compiler (cc; apt install gcc): ${detail}`);
    }
    await rename(partial, binary);
    return binary;
  })();
  return built;
}

/** The raw HTTP/1.1 bytes of one request, as the client sends them. */
export function rawRequest(port: number, request: HttpRequest): Buffer {
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const lines = [`${request.method ?? 'GET'} ${request.path} HTTP/1.1`, `host: 127.0.0.1:${port}`];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body) lines.push('content-type: application/json', `content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  return body ? Buffer.concat([head, body]) : head;
}

/**
 * `rate` requests per second to 127.0.0.1:`port` for `seconds` after `warmup` seconds, request i
 * being `requests[i % requests.length]`. Anything but a 200 counts as an error.
 */
export async function httpAtFixedRate(
  port: number,
  requests: readonly HttpRequest[],
  rate: number,
  seconds: number,
  { warmup = warmupSeconds, maxConnections = 64 }: { warmup?: number; maxConnections?: number } = {},
): Promise<LoadResult> {
  if (requests.length === 0) throw new Error('httpAtFixedRate needs at least one request');
  const client = await buildLoadgen();
  const dir = await mkdtemp(join(tmpdir(), 'shepherd-loadgen-'));
  try {
    const file = join(dir, 'requests.bin');
    const parts: Buffer[] = [];
    for (const request of requests) {
      const raw = rawRequest(port, request);
      const length = Buffer.alloc(4);
      length.writeUInt32LE(raw.length);
      parts.push(length, raw);
    }
    await writeFile(file, Buffer.concat(parts));
    const args = [port, rate, seconds, warmup, maxConnections].map(String);
    const { stdout } = await run(client, [...args, file], { maxBuffer: 1 << 20 });
    const result = JSON.parse(stdout) as LoadResult;
    if (!result.firstError) delete result.firstError;
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Load before any measured window, so a server is measured in its steady state: 20,000 requests
 * at 2,000/s. A Node server that has answered only a few thousand requests is still being
 * compiled: in the `online` benchmark, a perf profile of the API during its first measured window
 * (after ~1,500 requests) had V8's optimizing compiler busy on background threads, on both of this
 * machine's cores at once for milliseconds, while the thread answering requests waited for a
 * core (bench/README.md, `online`).
 */
export const serverWarmup = { rate: 2000, seconds: 10 } as const;

export function warmServer(
  port: number,
  requests: readonly HttpRequest[],
  { quick = false }: { quick?: boolean } = {},
): Promise<LoadResult> {
  const seconds = quick ? 1 : serverWarmup.seconds;
  return httpAtFixedRate(port, requests, serverWarmup.rate, seconds, { warmup: 0 });
}
