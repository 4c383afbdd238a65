import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { InstallError, type LaunchSpec } from './types.ts';

export interface PidRecord {
  pid: number;
  command: string;
  startedAt: string;
}

/** Processes are tracked by pid file so `down` stops exactly what `up` started, nothing else. */
export function pidFile(stateDir: string, service: string): string {
  return join(stateDir, 'pids', `${service}.json`);
}

export function logFile(stateDir: string, service: string): string {
  return join(stateDir, 'logs', `${service}.log`);
}

export function readPid(stateDir: string, service: string): PidRecord | undefined {
  const file = pidFile(stateDir, service);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/**
 * Alive and still the process we started: a pid number can be reused by the kernel after a
 * reboot, so the command line must match too before we signal it.
 */
export function isOurs(record: PidRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes(record.command);
  } catch {
    return true;
  }
}

export function startDetached(
  stateDir: string,
  service: string,
  spec: LaunchSpec,
  runAs?: { uid: number; gid: number },
): PidRecord {
  mkdirSync(join(stateDir, 'pids'), { recursive: true });
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const out = openSync(logFile(stateDir, service), 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', out, out],
    ...(runAs ?? {}),
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`${service}: could not start ${spec.command}`);
  child.unref();
  const record: PidRecord = { pid: child.pid, command: spec.command, startedAt: new Date().toISOString() };
  writeFileSync(pidFile(stateDir, service), JSON.stringify(record));
  return record;
}

/** Stops the whole process group (services fork helpers), politely first. */
export async function stopProcess(
  stateDir: string,
  service: string,
  timeoutMs = 20_000,
): Promise<'stopped' | 'not-running'> {
  const record = readPid(stateDir, service);
  if (!record || !isOurs(record)) {
    rmSync(pidFile(stateDir, service), { force: true });
    return 'not-running';
  }
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && groupAlive(record.pid)) await sleep(200);
  if (groupAlive(record.pid)) {
    signalGroup(record.pid, 'SIGKILL');
    while (groupAlive(record.pid)) await sleep(100);
  }
  rmSync(pidFile(stateDir, service), { force: true });
  return 'stopped';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Best effort: who holds a port, for the error message when it is not us. */
export function portHolder(port: number): string | undefined {
  const result = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const line = result.stdout?.trim();
  if (!line) return undefined;
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
  return match ? `${match[1]} (pid ${match[2]})` : undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function which(binary: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found !== '' ? found : undefined;
}

/**
 * Runs a tool to completion, keeping the tail of its output for error messages. A missing tool
 * becomes an InstallError naming it and the service that needed it.
 */
export function run(
  service: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; uid?: number; gid?: number } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new InstallError(service, `${command} not found on PATH`) : err);
    });
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The last meaningful lines of a tool's output (Maven 3.8 colours its output even in batch mode). */
export function lastLines(text: string, n = 15): string {
  return stripVTControlCharacters(text)
    .split('\n')
    .filter((line) => line.trim() !== '' && line.trim() !== '[ERROR]')
    .slice(-n)
    .join('\n');
}
