import type { Command } from 'commander';
import type { ProjectSettingsView } from '@shepherd/contracts/settings';
import { commandClient, type Out } from './command.ts';
import { table } from './format.ts';

/** `on`/`off` (and the usual synonyms) as a boolean; anything else names what is accepted. */
export function switchValue(name: string, text: string): boolean {
  const value = text.trim().toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(value)) return true;
  if (['off', 'false', 'no', '0'].includes(value)) return false;
  throw new Error(`${name} must be on or off, not '${text}'`);
}

/** Setting names on the command line, and the API field each one sets. */
const settingFields = { 'four-eyes': 'fourEyesPromotion' } as const;
type SettingName = keyof typeof settingFields;

const describeSettings = (settings: ProjectSettingsView) =>
  table([
    ['SETTING', 'VALUE', 'MEANING'],
    [
      'four-eyes',
      settings.fourEyesPromotion ? 'on' : 'off',
      settings.fourEyesPromotion
        ? 'approving or promoting a rollout needs someone other than who started it; a plan without a gate waits for approval before its final step'
        : 'whoever started a rollout may approve and promote it',
    ],
  ]);

export function registerSettingsCommands(program: Command, out: Out): void {
  const client = () => commandClient(program);
  const print = (json: boolean, settings: ProjectSettingsView) =>
    out(json ? JSON.stringify(settings, null, 2) : describeSettings(settings));

  const settings = program.command('settings').description("the project's settings (admin token)");
  settings
    .command('show')
    .description('what the project requires, e.g. four-eyes promotion')
    .action(async () => {
      const { api, json } = client();
      print(json, await api.call<ProjectSettingsView>('GET', '/settings'));
    });
  settings
    .command('set <setting> <value>')
    .description(`change a setting (audited): ${Object.keys(settingFields).join(', ')} on|off`)
    .action(async (setting: string, value: string) => {
      if (!(setting in settingFields)) {
        throw new Error(`unknown setting '${setting}'; settings: ${Object.keys(settingFields).join(', ')}`);
      }
      const field = settingFields[setting as SettingName];
      const { api, json } = client();
      const updated = await api.call<ProjectSettingsView>('PATCH', '/settings', {
        [field]: switchValue(setting, value),
      });
      print(json, updated);
    });
}
