import { ApplicationFailure } from '@temporalio/activity';
import { ShepherdError } from '@shepherd/core/errors';

/**
 * A caller's mistake (bad data, a broken model, a missing trainer) fails the same way on every
 * retry, so it is non-retryable; an unavailable dependency is retried.
 */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof ShepherdError && err.status < 500) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable: true,
      cause: err,
    });
  }
  return err;
}

export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asActivityFailure(err);
  }
}
