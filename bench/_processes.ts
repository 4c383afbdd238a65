/**
 * Shepherd's apps as the processes they are in production (api, worker, gateway, feature
 * ingestion), started from their real entry points with `node --import tsx`, so a benchmark can
 * drive them over their real interfaces and read each one's memory from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { servingNodeFlags } from '../packages/core/src/node-flags.ts';
import { testEnv } from '../packages/testing/src/env.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export const entryPoints = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  gateway: 'apps/gateway/src/main.ts',
  ingestion: 'packages/features/src/ingest-main.ts',
} as const;

export type AppName = keyof typeof entryPoints;

export interface AppProcess {
  name: AppName;
  pid: number;
  child: ChildProcess;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The local stack's addresses and credentials in the form the apps' env schemas read. */
export function stackEnv(): Record<string, string> {
  const env = testEnv();
  return {
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE,
    KAFKA_BROKERS: env.KAFKA_BROKERS.join(','),
    S3_ENDPOINT: env.S3_ENDPOINT,
    S3_BUCKET: env.S3_BUCKET,
    S3_REGION: env.S3_REGION,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
  };
}

/**
 * Starts one app and waits until it is ready: `http` answers 200, or a log line matches `log`
 * (the worker and the ingestion process serve no HTTP). Fails with the app's last output when
 * it exits first or takes longer than `timeoutMs`.
 */
export async function startApp(
  name: AppName,
  env: Record<string, string>,
  ready: { http: string } | { log: RegExp },
  timeoutMs = 120_000,
): Promise<AppProcess> {
  // One process per app (no tsx wrapper process), so its pid is the one whose memory counts.
  const flags = name === 'api' || name === 'gateway' ? servingNodeFlags : [];
  const child = spawn(process.execPath, ['--import', 'tsx', ...flags, entryPoints[name]], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let logged = false;
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if ('log' in ready && ready.log.test(output)) logged = true;
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const tail = () => output.trim().split('\n').slice(-8).join('\n');
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined)
      throw new Error(`${name} exited with code ${exited} before it was ready: ${tail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready after ${timeoutMs} ms: ${tail()}`);
    }
    if ('log' in ready) {
      if (logged) break;
    } else {
      const ok = await fetch(ready.http).then(
        (response) => response.status === 200,
        () => false,
      );
      if (ok) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    name,
    pid: child.pid!,
    child,
    tail,
    async stop(graceMs = 15_000) {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** VmRSS and VmHWM (peak resident set) of a process, in KiB; undefined once it has exited. */
export async function residentKiB(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface MemoryPeaks {
  /** Peak resident set per process in MiB: the kernel's high-water mark (VmHWM), last read. */
  peakMiB: Record<string, number>;
  /** Highest VmRSS seen by a 100 ms sample (VmHWM also catches peaks between samples). */
  sampledMaxMiB: Record<string, number>;
  /** VmRSS at the first sample, before the load. */
  startMiB: Record<string, number>;
  samples: number;
}

/** Samples each process's memory every `everyMs` until `stop()`; a process that exits keeps its last figures. */
export function sampleMemory(pids: Record<string, number>, everyMs = 100) {
  const hwm: Record<string, number> = {};
  const sampled: Record<string, number> = {};
  const start: Record<string, number> = {};
  let samples = 0;
  let sampling: Promise<void> = Promise.resolve();
  const sample = async () => {
    await Promise.all(
      Object.entries(pids).map(async ([name, pid]) => {
        const kib = await residentKiB(pid);
        if (!kib) return;
        start[name] ??= kib.rss;
        sampled[name] = Math.max(sampled[name] ?? 0, kib.rss);
        hwm[name] = Math.max(hwm[name] ?? 0, kib.hwm);
      }),
    );
    samples++;
  };
  sampling = sample();
  const timer = setInterval(() => {
    sampling = sampling.then(sample);
  }, everyMs);
  const mib = (record: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(record).map(([name, kib]) => [name, Math.round((kib / 1024) * 10) / 10]),
    );
  return {
    async stop(): Promise<MemoryPeaks> {
      clearInterval(timer);
      await sampling;
      await sample();
      return { peakMiB: mib(hwm), sampledMaxMiB: mib(sampled), startMiB: mib(start), samples };
    },
  };
}

/** The peak resident set of an idle node process that imports nothing: the floor of any node app. */
export async function idleNodeMiB(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const kib = await residentKiB(child.pid!);
    if (!kib) throw new Error('the idle node process exited');
    return Math.round((kib.hwm / 1024) * 10) / 10;
  } finally {
    child.kill('SIGKILL');
  }
}
