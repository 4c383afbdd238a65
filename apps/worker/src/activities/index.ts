import { hostname } from 'node:os';
import type { ActivityDeps } from './deps.ts';
import { driftActivities } from './drift.ts';
import { evaluateActivities } from './evaluate.ts';
import { importActivities } from './import.ts';
import { lifecycleActivities } from './lifecycle.ts';
import { rolloutActivities } from './rollout.ts';
import { parityActivities } from './parity.ts';
import { trainActivities } from './train.ts';
import { trainingSetActivities } from './training-set.ts';

export type { ActivityDeps } from './deps.ts';

/** Activities get their I/O clients from here, so tests hand in real ones of their own. */
export function createActivities(deps: ActivityDeps) {
  const identity = deps.workerIdentity ?? `${hostname()}:${process.pid}`;
  return {
    async echo(message: string): Promise<{ echoed: string; worker: string }> {
      return { echoed: message, worker: identity };
    },
    ...trainingSetActivities(deps),
    ...trainActivities(deps),
    ...importActivities(deps),
    ...evaluateActivities(deps),
    ...lifecycleActivities(deps),
    ...rolloutActivities(deps),
    ...parityActivities(deps),
    ...driftActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
