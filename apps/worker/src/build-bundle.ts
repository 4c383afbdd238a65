import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

// Production workers load this prebuilt bundle instead of running webpack at every start.
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'workflow-bundle.js');
const { code } = await bundleWorkflowCode({ workflowsPath: join(here, 'workflows', 'index.ts') });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);
process.stdout.write(`wrote ${out} (${Math.round(code.length / 1024)} KiB)\n`);
