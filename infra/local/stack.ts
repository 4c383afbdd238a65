import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { localStackEnv } from './endpoints.ts';
import { down, selectServices, status, up, StackError } from './manager.ts';
import { defaultCacheDir, defaultStateDir } from './paths.ts';
import { logFile } from './process.ts';
import { InstallError, type StackContext } from './types.ts';

const usage = `usage: npm run stack -- <command> [service...]

commands:
  up [service...]      install (first run) and start services, wait until healthy
  down [--purge]       stop the services this stack started; --purge also deletes their data
  status               running / healthy per service
  logs <service> [-f]  show a service's log
  env                  print the environment variables that point apps at this stack

services: postgres, s3, kafka, temporal, mlflow
state: $SHEPHERD_STATE_DIR (default .state/stack), downloads: $SHEPHERD_CACHE_DIR (default ~/.cache/shepherd)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flags = rest.filter((arg) => arg.startsWith('-'));
  const names = rest.filter((arg) => !arg.startsWith('-'));
  const ctx: StackContext = {
    cacheDir: defaultCacheDir(),
    stateDir: defaultStateDir(),
    log: (message) => process.stdout.write(`[stack] ${message}\n`),
  };

  switch (command) {
    case 'up':
      await up(ctx, names);
      return 0;
    case 'down':
      await down(ctx, names, { purge: flags.includes('--purge') });
      return 0;
    case 'status': {
      const rows = await status(ctx, names);
      for (const row of rows) {
        const state = row.running ? (row.healthy ? 'healthy' : 'running, not healthy') : 'stopped';
        process.stdout.write(
          `${row.name.padEnd(10)} ${state.padEnd(22)} ${row.pid === undefined ? '' : `pid ${row.pid}`.padEnd(12)} ports ${row.ports.join(',')}\n`,
        );
      }
      return rows.every((row) => row.healthy) ? 0 : 3;
    }
    case 'logs': {
      const [name] = names;
      if (!name) throw new StackError('logs needs a service name');
      selectServices([name]);
      const file = logFile(ctx.stateDir, name);
      if (!existsSync(file)) throw new StackError(`no log yet for ${name} (${file})`);
      const tail = spawn('tail', flags.includes('-f') ? ['-n', '100', '-f', file] : ['-n', '200', file], {
        stdio: 'inherit',
      });
      return await new Promise((resolve) => tail.once('close', (code) => resolve(code ?? 0)));
    }
    case 'env':
      for (const [key, value] of Object.entries(localStackEnv()))
        process.stdout.write(`export ${key}=${value}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      throw new StackError(`unknown command '${command}'\n${usage}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof StackError || err instanceof InstallError) {
      process.stderr.write(`[stack] error: ${err.message}\n`);
    } else {
      process.stderr.write(
        `[stack] unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exit(1);
  },
);
