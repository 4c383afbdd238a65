import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { localStack } from '../endpoints.ts';
import { ensurePythonEnv, venvBin } from '../python-env.ts';
import type { ServiceDef } from '../types.ts';

const { host, port, uiPort, namespace } = localStack.temporal;

export const temporal: ServiceDef = {
  name: 'temporal',
  ports: [port, uiPort],
  startupTimeoutSeconds: 90,
  install: (ctx) => ensurePythonEnv(ctx),
  launch(ctx) {
    const dir = join(ctx.stateDir, 'temporal');
    mkdirSync(dir, { recursive: true });
    return {
      command: venvBin(ctx, 'temporal'),
      args: [
        'server',
        'start-dev',
        '--ip',
        host,
        '--port',
        String(port),
        '--ui-port',
        String(uiPort),
        '--namespace',
        namespace,
        '--db-filename',
        join(dir, 'temporal.sqlite'),
        '--log-format',
        'json',
        '--log-level',
        'warn',
      ],
    };
  },
  async healthy() {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: `${host}:${port}`, connectTimeout: 1000 });
      const response = await connection.healthService.check({});
      // SERVING = 1 in grpc.health.v1
      return response.status === 1;
    } catch {
      return false;
    } finally {
      await connection?.close();
    }
  },
};
