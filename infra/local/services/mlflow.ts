import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { localStack } from '../endpoints.ts';
import { ensurePythonEnv, venvBin } from '../python-env.ts';
import type { ServiceDef } from '../types.ts';

const { host, port } = localStack.mlflow;

export const mlflow: ServiceDef = {
  name: 'mlflow',
  ports: [port],
  startupTimeoutSeconds: 120,
  install: (ctx) => ensurePythonEnv(ctx),
  launch(ctx) {
    const dir = join(ctx.stateDir, 'mlflow');
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    return {
      command: venvBin(ctx, 'mlflow'),
      args: [
        'server',
        '--host',
        host,
        '--port',
        String(port),
        '--workers',
        '1',
        '--backend-store-uri',
        `sqlite:///${join(dir, 'mlflow.sqlite')}`,
        // Artifacts go through the tracking server, so trainers need only MLFLOW_TRACKING_URI.
        '--serve-artifacts',
        '--artifacts-destination',
        join(dir, 'artifacts'),
      ],
      // MLflow's job runner (GenAI jobs: prompt optimisation, scorers, trace roll-ups) starts
      // seven consumer processes beside the server. Shepherd uses only tracking, the registry and
      // artifacts, and on a two-core machine those processes cost CPU at start and wake-ups after.
      env: { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
      cwd: dir,
    };
  },
  async healthy() {
    try {
      const response = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(1000) });
      return response.ok;
    } catch {
      return false;
    }
  },
};
