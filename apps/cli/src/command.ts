import type { Command } from 'commander';
import { ApiClient } from './api-client.ts';
import { loadCliEnv } from './env.ts';

/** Where a command writes what it has to say: stdout in the CLI, an array in tests. */
export type Out = (text: string) => void;

/**
 * What a command needs to call the API: a client for the project `--project` names (default
 * SHEPHERD_PROJECT), and whether `--json` was given. Read when the command runs, so that a missing
 * setting is reported by a command that needs it, not by `--help`.
 */
export function commandClient(program: Command): { api: ApiClient; json: boolean } {
  const env = loadCliEnv();
  const options = program.opts<{ project?: string; json?: boolean }>();
  return {
    api: new ApiClient(env.SHEPHERD_API_URL, options.project ?? env.SHEPHERD_PROJECT, env.SHEPHERD_TOKEN),
    json: options.json === true,
  };
}

/** Prints the API's answer as JSON under `--json`, the command's own text otherwise. */
export function printer(out: Out) {
  return (json: boolean, value: unknown, text: () => string) =>
    out(json ? JSON.stringify(value, null, 2) : text());
}
