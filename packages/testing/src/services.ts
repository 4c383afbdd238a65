import { services } from '../../../infra/local/services/index.ts';
import type { StackContext } from '../../../infra/local/types.ts';
import { defaultCacheDir, defaultStateDir } from '../../../infra/local/paths.ts';
import { dockerAvailable, startContainers } from './containers.ts';

const ctx: StackContext = { cacheDir: defaultCacheDir(), stateDir: defaultStateDir(), log: () => undefined };

/** Names of the stack's services that do not answer a real request right now. */
export async function unhealthyServices(): Promise<string[]> {
  const results = await Promise.all(
    services.map(async (service) => ((await service.healthy(ctx)) ? undefined : service.name)),
  );
  return results.filter((name): name is string => name !== undefined);
}

/**
 * Integration tests need every real service. The local stack (infra/local) is used when it is up;
 * where a Docker engine answers, the missing services are started as containers on the same
 * loopback ports, so tests and apps use one set of addresses either way.
 */
export async function ensureServices(log: (message: string) => void = () => undefined): Promise<void> {
  let missing = await unhealthyServices();
  if (missing.length === 0) return;
  if (await dockerAvailable()) {
    log(`starting containers for: ${missing.join(', ')}`);
    await startContainers(missing);
    missing = await unhealthyServices();
    if (missing.length === 0) return;
  }
  throw new Error(
    `integration tests need the real services, and these do not answer: ${missing.join(', ')}.\n` +
      'Start them with `npm run stack -- up` (or run `bash scripts/test.sh`, which does it for you).',
  );
}
