/**
 * Where a latency tail comes from: this process's event-loop stalls and GC pauses over a window.
 * A benchmark resets it before a measured window and reads it after, in the load generator and
 * in the server it loads, so a p99 can be told apart from a pause on either side.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface Pauses {
  /** Longest event-loop delay beyond the 1 ms sampling interval, ms. */
  loopMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** CPU this process used (user + system, every thread), ms. */
  cpuMs: number;
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
  return {
    reset() {
      loop.reset();
      gc = [];
      cpu = process.cpuUsage();
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
      };
    },
    stop() {
      loop.disable();
      observer.disconnect();
    },
  };
}
