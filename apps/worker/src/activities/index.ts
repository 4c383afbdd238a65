import { hostname } from 'node:os';

export interface ActivityDeps {
  workerIdentity?: string;
}

/** Activities get their I/O clients from here, so tests can hand in real ones per test. */
export function createActivities(deps: ActivityDeps = {}) {
  const identity = deps.workerIdentity ?? `${hostname()}:${process.pid}`;
  return {
    async echo(message: string): Promise<{ echoed: string; worker: string }> {
      return { echoed: message, worker: identity };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
