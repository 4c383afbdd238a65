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

/**
 * Open loop: call i is due at start + i / rate whatever happened to earlier ones, and its latency
 * is counted from when it was due, so a stall shows in the tail instead of hiding.
 */
export async function atFixedRate(
  rate: number,
  seconds: number,
  call: (i: number) => Promise<void>,
): Promise<Latencies> {
  const total = Math.round(rate * seconds);
  const latencies = new Float64Array(total);
  let errors = 0;
  const start = performance.now() + 5;
  const pending: Promise<void>[] = [];
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && start + (i * 1000) / rate <= now) {
      const due = start + (i * 1000) / rate;
      const index = i++;
      pending.push(
        call(index).then(
          () => {
            latencies[index] = performance.now() - due;
          },
          () => {
            errors++;
            latencies[index] = performance.now() - due;
          },
        ),
      );
    }
    const wait = start + (i * 1000) / rate - performance.now();
    await new Promise((resolve) => (wait > 2 ? setTimeout(resolve, wait - 1) : setImmediate(resolve)));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort();
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
    achievedRps: total / elapsed,
    errors,
  };
}
