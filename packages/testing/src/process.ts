import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../../..');

export interface ExitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of our entry points as a real process, as an operator would, and collects what it printed. */
export function runEntryPoint(
  entry: string,
  env: Record<string, string>,
  options: {
    timeoutMs?: number;
    args?: string[];
    /** Sends SIGINT (an operator's Ctrl-C) once stdout contains this text. */
    interruptWhen?: string;
  } = {},
): Promise<ExitResult> {
  return new Promise((resolvePromise, reject) => {
    // Node with tsx as a loader, not tsx's CLI: the CLI is a second process between us and the
    // entry point, relaying signals on its own schedule (a Ctrl-C once reached it but not the demo).
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(repoRoot, entry), ...(options.args ?? [])],
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.interruptWhen && !interrupted && stdout.includes(options.interruptWhen)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}
