import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProjectSettings } from '@shepherd/registry/settings';
import { cliAgainstApi } from './harness.ts';

/** `shepherd settings` against the real API over HTTP, as an admin and as someone who is not. */
describe('shepherd settings', { timeout: 60_000 }, () => {
  let cli: Awaited<ReturnType<typeof cliAgainstApi>>;
  let admin: string;
  let approver: string;
  const run = (token: string, ...args: string[]) => cli.run(token, ...args);
  const settings = () => getProjectSettings({ db: cli.database.db, projectId: cli.projectId, actor: 'test' });

  beforeAll(async () => {
    cli = await cliAgainstApi('cli-settings');
    admin = await cli.token('platform-admin', 'admin');
    approver = await cli.token('reviewer', 'approver');
  });
  afterAll(() => cli?.close());

  it('shows four eyes on, turns it off as an admin, and the project records it', async () => {
    expect(await run(admin, 'settings', 'show')).toMatch(/^four-eyes\s+on\s/m);
    const json = await run(admin, '--json', 'settings', 'set', 'four-eyes', 'off');
    expect(JSON.parse(json)).toEqual({ project: cli.slug, fourEyesPromotion: false });
    expect(await settings()).toEqual({ fourEyesPromotion: false });
    expect(await run(admin, 'settings', 'show')).toMatch(/^four-eyes\s+off\s/m);
  });

  it('refuses a non-admin, an unknown setting and a value that is not on/off', async () => {
    await expect(run(approver, 'settings', 'set', 'four-eyes', 'on')).rejects.toThrow(/needs admin/);
    await expect(run(admin, 'settings', 'set', 'two-eyes', 'on')).rejects.toThrow(
      /unknown setting 'two-eyes'/,
    );
    await expect(run(admin, 'settings', 'set', 'four-eyes', 'sometimes')).rejects.toThrow(/on or off/);
    expect((await settings()).fourEyesPromotion).toBe(false);
  });
});
