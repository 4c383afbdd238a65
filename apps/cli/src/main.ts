import { ConfigError } from '@shepherd/core/env';
import { buildProgram } from './program.ts';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`shepherd: ${message}\n`);
    process.exit(1);
  });
