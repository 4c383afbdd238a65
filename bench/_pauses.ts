/**
 * Where a latency tail comes from: this process's event-loop stalls and GC pauses over a window.
 * A benchmark resets it before a measured window and reads it after, in the load generator and
 * in the server it loads, so a p99 can be told apart from a pause on either side.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseStat, ticksPerSecond } from './_stack-cpu.ts';

export interface Pauses {
  /** Longest event-loop delay beyond the 1 ms sampling interval, ms. */
  loopMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** CPU this process used (user + system, every thread), ms. */
  cpuMs: number;
  /**
   * The part of cpuMs on threads other than the main one: V8's optimizing compiler and GC
   * helpers (and libuv's pool). On two cores, this is CPU the main thread may wait behind.
   */
  backgroundCpuMs: number;
}

/** CPU of this process's threads other than the main one so far, ms (Linux; 0 elsewhere). */
function backgroundCpuMs(): number {
  let ticks = 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  for (const tid of tids) {
    if (tid === String(process.pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    ticks += parseStat(stat, false).ticks;
  }
  return (ticks * 1000) / ticksPerSecond;
}

export function watchPauses() {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let gc: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gc.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  let cpu = process.cpuUsage();
  let background = backgroundCpuMs();
  return {
    reset() {
      loop.reset();
      gc = [];
      cpu = process.cpuUsage();
      background = backgroundCpuMs();
    },
    read(): Pauses {
      const round = (ms: number) => Math.round(ms * 100) / 100;
      const used = process.cpuUsage(cpu);
      return {
        loopMaxMs: round(loop.max / 1e6),
        gcCount: gc.length,
        gcTotalMs: round(gc.reduce((sum, d) => sum + d, 0)),
        gcMaxMs: round(Math.max(0, ...gc)),
        cpuMs: round((used.user + used.system) / 1000),
        backgroundCpuMs: backgroundCpuMs() - background,
      };
    },
    stop() {
      loop.disable();
      observer.disconnect();
    },
  };
}

/**
 * In a server process a benchmark forked (with IPC): answers the parent's 'reset-pauses' with a
 * reset and 'read-pauses' with `{ pauses }`, what `childPauses` below asks for.
 */
export function answerPauses(): void {
  const pauses = watchPauses();
  process.on('message', (message) => {
    if (message === 'reset-pauses') pauses.reset();
    if (message === 'read-pauses') process.send?.({ pauses: pauses.read() });
  });
}

/** A forked server's event-loop stalls, GC pauses and CPU since its last 'reset-pauses'. */
export function childPauses(child: ChildProcess): Promise<Pauses> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const pauses = (message as { pauses?: Pauses }).pauses;
      if (!pauses) return;
      child.off('message', onMessage);
      resolve(pauses);
    };
    child.on('message', onMessage);
    child.send('read-pauses');
  });
}
