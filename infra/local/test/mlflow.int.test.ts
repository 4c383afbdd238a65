import { describe, expect, it } from 'vitest';
import { status } from '../manager.ts';
import { defaultCacheDir, defaultStateDir } from '../paths.ts';
import type { StackContext } from '../types.ts';
import { commandLine, processesInGroups } from './processes.ts';

const ctx: StackContext = { cacheDir: defaultCacheDir(), stateDir: defaultStateDir(), log: () => undefined };

describe("the stack's MLflow", () => {
  it('runs the tracking server without the job consumers Shepherd has no use for', async () => {
    const mlflow = (await status(ctx)).find((service) => service.name === 'mlflow');
    expect(mlflow?.healthy).toBe(true);
    const commands = processesInGroups([mlflow!.pid!]).map(commandLine);
    // The server itself is there (its uvicorn worker serves the REST API)...
    expect(commands.some((command) => command.includes('mlflow server'))).toBe(true);
    // ...and none of the job runner's processes, which MLflow starts unless told not to.
    expect(commands.filter((command) => /huey_consumer|jobs\._job_runner/.test(command))).toEqual([]);
  });
});
