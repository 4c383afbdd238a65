import { describe, expect, it } from 'vitest';
import { down, status, up } from '../manager.ts';
import { defaultCacheDir, defaultStateDir } from '../paths.ts';
import type { StackContext } from '../types.ts';
import { processesInGroups } from './processes.ts';

const ctx: StackContext = { cacheDir: defaultCacheDir(), stateDir: defaultStateDir(), log: () => undefined };

describe('stack down', () => {
  it(
    'stops every process the stack started, and up brings the stack back',
    { timeout: 300_000 },
    async () => {
      const before = await status(ctx);
      expect(before.every((service) => service.running && service.healthy)).toBe(true);
      const groups = before.map((service) => service.pid!);
      expect(processesInGroups(groups).length).toBeGreaterThanOrEqual(groups.length);

      await down(ctx);

      expect(processesInGroups(groups)).toEqual([]);
      const after = await status(ctx);
      expect(after.filter((service) => service.running).map((service) => service.name)).toEqual([]);

      // Leave the stack as the rest of the suite expects it.
      await up(ctx);
      expect((await status(ctx)).every((service) => service.healthy)).toBe(true);
    },
  );
});
