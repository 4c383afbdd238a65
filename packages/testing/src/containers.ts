import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { localStack } from '../../../infra/local/endpoints.ts';

/** True when a Docker (or compatible) engine answers; machines without one use infra/local. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

const { postgres, kafka, s3, temporal, mlflow } = localStack;

// Same images and versions as infra/docker-compose.yml. Host ports are fixed to the local stack's
// so nothing downstream needs to know which of the two is running.
const definitions: Record<string, () => GenericContainer> = {
  postgres: () =>
    new GenericContainer('postgres:15')
      .withEnvironment({
        POSTGRES_USER: postgres.user,
        POSTGRES_PASSWORD: postgres.password,
        POSTGRES_DB: postgres.database,
      })
      .withExposedPorts({ container: 5432, host: postgres.port })
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2)),
  kafka: () =>
    new GenericContainer('apache/kafka:4.1.1')
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${kafka.port},CONTROLLER://0.0.0.0:${kafka.controllerPort}`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${kafka.host}:${kafka.port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@localhost:${kafka.controllerPort}`,
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_NUM_PARTITIONS: '3',
      })
      .withExposedPorts({ container: kafka.port, host: kafka.port }),
  s3: () =>
    new GenericContainer('minio/minio:latest')
      .withCommand(['server', '/data', '--console-address', ':9001'])
      .withEnvironment({ MINIO_ROOT_USER: s3.accessKeyId, MINIO_ROOT_PASSWORD: s3.secretAccessKey })
      .withExposedPorts({ container: 9000, host: s3.port }, { container: 9001, host: s3.consolePort })
      .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000)),
  temporal: () =>
    new GenericContainer('temporalio/temporal:1.9.1')
      .withCommand(['server', 'start-dev', '--ip', '0.0.0.0'])
      .withExposedPorts({ container: 7233, host: temporal.port }, { container: 8233, host: temporal.uiPort }),
  mlflow: () =>
    new GenericContainer('ghcr.io/mlflow/mlflow:v3.17.2')
      .withCommand(['mlflow', 'server', '--host', '0.0.0.0', '--port', String(mlflow.port)])
      // As in infra/local/services/mlflow.ts: no job runner, which Shepherd does not use.
      .withEnvironment({ MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' })
      .withExposedPorts({ container: mlflow.port, host: mlflow.port })
      .withWaitStrategy(Wait.forHttp('/health', mlflow.port)),
};

const started: StartedTestContainer[] = [];

export async function startContainers(names: string[]): Promise<void> {
  for (const name of names) {
    const definition = definitions[name];
    if (!definition) throw new Error(`no container definition for ${name}`);
    started.push(await definition().withReuse().start());
  }
}
