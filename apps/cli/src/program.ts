import { Command } from 'commander';
import { registerDriftCommands } from './drift-commands.ts';
import { loadCliEnv } from './env.ts';
import { registerFeatureCommands } from './feature-commands.ts';
import { registerRegistryCommands } from './registry-commands.ts';
import { registerServingCommands } from './serving-commands.ts';
import { registerSettingsCommands } from './settings-commands.ts';
import { collectStatus, formatStatus } from './status.ts';

export function buildProgram(
  out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
): Command {
  const program = new Command('shepherd')
    .description('Shepherd: train, evaluate, roll out and watch ML models')
    .version('0.1.0')
    .option('-p, --project <slug>', 'project (default: $SHEPHERD_PROJECT or "default")')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError();

  program
    .command('status')
    .description("show the health of Shepherd's processes and of each service they depend on")
    .action(async () => {
      const options = program.opts<{ json?: boolean }>();
      const env = loadCliEnv();
      const rows = await collectStatus({
        api: env.SHEPHERD_API_URL,
        gateway: env.SHEPHERD_GATEWAY_URL,
        dashboard: env.SHEPHERD_DASHBOARD_URL,
      });
      out(options.json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
      if (!rows.every((row) => row.ok)) process.exitCode = 3;
    });

  registerRegistryCommands(program, out);
  registerServingCommands(program, out);
  registerDriftCommands(program, out);
  registerFeatureCommands(program, out);
  registerSettingsCommands(program, out);
  return program;
}
