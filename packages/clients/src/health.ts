export interface CheckResult {
  name: string;
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export type Check = { name: string; run: () => Promise<unknown> };

/**
 * Runs readiness checks concurrently, each bounded by a timeout, so one hung dependency makes
 * /readyz say which one instead of hanging the probe itself.
 */
export async function runChecks(checks: Check[], timeoutMs = 3000): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (check) => {
      const started = performance.now();
      try {
        await withTimeout(check.run(), timeoutMs, `${check.name} did not answer within ${timeoutMs} ms`);
        return { name: check.name, ok: true, latencyMs: Math.round(performance.now() - started) };
      } catch (err) {
        const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
        return { name: check.name, ok: false, latencyMs: Math.round(performance.now() - started), detail };
      }
    }),
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
