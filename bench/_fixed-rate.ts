import { Worker } from 'node:worker_threads';

/** Open-loop load at a fixed rate, shared by the latency benchmarks. */

export interface Latencies {
  p50: number;
  p99: number;
  max: number;
  achievedRps: number;
  errors: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Unmeasured load at the same rate before each measured window (see atFixedRate). */
export const warmupSeconds = 1;

/**
 * The clock of the load: a worker thread that sleeps until each call's due time (a futex wait,
 * precise to tens of microseconds) and wakes the main thread with the call's index. Waiting on the
 * main thread instead means spinning: timers have millisecond resolution and calls at 1,000/s are
 * a millisecond apart, so the load generator spun a whole core, one of the two this machine has,
 * and the server it measured waited for a core behind it.
 */
const pacerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { start, rate, total } = workerData;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const now = () => performance.timeOrigin + performance.now();
for (let i = 0; i < total; i++) {
  const wait = start + (i * 1000) / rate - now();
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
  parentPort.postMessage(i);
}
`;

/**
 * Open loop: call i is due at start + i / rate whatever happened to earlier ones, and its latency
 * is counted from when it was due, so a stall shows in the tail instead of hiding.
 *
 * The first `warmup` seconds run the same load without being counted, and the measured window
 * follows without a gap. A path that sat idle while another was measured starts cold (keep-alive
 * sockets to reopen, connection pools to grow, code to re-optimise), and at 1,000 requests/s those
 * first tens of milliseconds alone are the whole 1 % tail of a 5-second window: the tail measured
 * the previous window's idleness, not the steady rate the targets are about.
 */
export async function atFixedRate(
  rate: number,
  seconds: number,
  call: (i: number) => Promise<void>,
  { warmup = warmupSeconds }: { warmup?: number } = {},
): Promise<Latencies> {
  const skipped = Math.round(rate * warmup);
  const total = skipped + Math.round(rate * seconds);
  const latencies = new Float64Array(total);
  let errors = 0;
  // Epoch milliseconds: the pacer thread's performance.now() has an origin of its own.
  const now = () => performance.timeOrigin + performance.now();
  const start = now() + 20;
  const dueAt = (i: number) => start + (i * 1000) / rate;
  const pending: Promise<void>[] = [];
  let next = 0;
  const dispatch = () => {
    // Everything due by now, in order: a late wake-up sends the calls it missed at once.
    const at = now();
    while (next < total && dueAt(next) <= at) {
      const index = next++;
      const due = dueAt(index);
      pending.push(
        call(index).then(
          () => {
            latencies[index] = now() - due;
          },
          () => {
            // Counted in the warm-up too: a failed request is a failure whenever it happens.
            errors++;
            latencies[index] = now() - due;
          },
        ),
      );
    }
  };
  const pacer = new Worker(pacerSource, { eval: true, workerData: { start, rate, total } });
  try {
    await new Promise<void>((resolve, reject) => {
      pacer.on('message', () => {
        dispatch();
        if (next >= total) resolve();
      });
      pacer.once('error', reject);
      pacer.once('exit', () => {
        dispatch();
        resolve();
      });
    });
  } finally {
    await pacer.terminate();
  }
  await Promise.all(pending);
  const measuredStart = dueAt(skipped);
  const elapsed = (now() - measuredStart) / 1000;
  const measured = latencies.subarray(skipped).sort();
  return {
    p50: percentile(measured, 0.5),
    p99: percentile(measured, 0.99),
    max: measured[measured.length - 1] ?? NaN,
    achievedRps: (total - skipped) / elapsed,
    errors,
  };
}
