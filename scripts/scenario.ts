import { randomUUID } from 'node:crypto';
import { connectTemporal } from '@shepherd/clients/temporal';
import { ping } from '../apps/worker/src/workflows/ping.ts';

export interface ScenarioContext {
  log: (message: string) => void;
  env: Record<string, string>;
}

/**
 * What the demo plays once the platform is up. Each capability adds its act here; for now it
 * proves the control path end to end: a workflow started through Temporal runs on the worker.
 */
export async function playScenario({ log, env }: ScenarioContext): Promise<void> {
  const { client, connection } = await connectTemporal({
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
  });
  try {
    const workflowId = `demo-ping-${randomUUID()}`;
    const result = await client.workflow.execute(ping, {
      taskQueue: 'shepherd-main',
      workflowId,
      args: ['hello from the demo'],
      workflowExecutionTimeout: '1 minute',
    });
    log(`workflow ${workflowId} ran on worker ${result.worker}`);
  } finally {
    await connection.close();
  }
}
