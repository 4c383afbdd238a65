import { Command } from 'commander';
import { loadCliEnv } from './env.ts';
import { collectStatus, formatStatus } from './status.ts';

export function buildProgram(): Command {
  const program = new Command('shepherd')
    .description('Shepherd: train, evaluate, roll out and watch ML models')
    .version('0.1.0')
    .showHelpAfterError();

  program
    .command('status')
    .description("show the health of Shepherd's processes and of each service they depend on")
    .option('--json', 'print machine-readable JSON')
    .action(async (options: { json?: boolean }) => {
      const env = loadCliEnv();
      const rows = await collectStatus({
        api: env.SHEPHERD_API_URL,
        gateway: env.SHEPHERD_GATEWAY_URL,
        dashboard: env.SHEPHERD_DASHBOARD_URL,
      });
      process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatStatus(rows)}\n`);
      if (!rows.every((row) => row.ok)) process.exitCode = 3;
    });

  return program;
}
