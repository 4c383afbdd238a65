import { afterEach, describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { MlflowClient, runArtifactSource } from '../src/client.ts';
import { MlflowError } from '../src/errors.ts';
import {
  mlflowError,
  startFakeServer,
  type FakeServer,
  type RecordedRequest,
  type Reply,
} from './fake-server.ts';

const API = '/api/2.0/mlflow';

let server: FakeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function fake(
  handle: (request: RecordedRequest) => Reply,
): Promise<{ client: MlflowClient; server: FakeServer }> {
  server = await startFakeServer(handle);
  return { client: new MlflowClient({ trackingUri: server.url, timeoutMs: 2000 }), server };
}

function calls(fakeServer: FakeServer): string[] {
  return fakeServer.requests.map((request) => `${request.method} ${request.path.slice(API.length + 1)}`);
}

const experiment = (lifecycle: 'active' | 'deleted' = 'active') => ({
  experiment: {
    experiment_id: '7',
    name: 'e',
    artifact_location: '/a/7',
    lifecycle_stage: lifecycle,
    creation_time: 1,
    last_update_time: 1,
    workspace: 'default',
  },
});

const modelVersion = {
  name: 'm',
  version: '3',
  source: 'runs:/r1/model',
  run_id: 'r1',
  status: 'READY',
  current_stage: 'None',
  aliases: ['champion'],
};

describe('what goes over the wire', () => {
  it('encodes NaN and infinities as the strings MLflow accepts, and fills timestamp and step', async () => {
    const { client, server } = await fake(() => ({ json: {} }));
    const before = Date.now();

    await client.logMetric('r1', 'loss', Number.NaN);
    await client.logMetric('r1', 'gain', Number.POSITIVE_INFINITY, { step: 4, timestamp: 99 });

    const [first, second] = server.requests;
    const nan = first?.body as { value: unknown; timestamp: number; step: number };
    expect(nan.value).toBe('NaN');
    expect(nan.timestamp).toBeGreaterThanOrEqual(before);
    expect(nan.step).toBe(0);
    expect(second?.body).toEqual({ run_id: 'r1', key: 'gain', value: 'Infinity', timestamp: 99, step: 4 });
  });

  it('sends alias versions as strings and alias deletes as a JSON body', async () => {
    const { client, server } = await fake(() => ({ json: {} }));

    await client.setAlias('m', 'champion', 3);
    await client.deleteAlias('m', 'champion');

    expect(server.requests[0]?.body).toEqual({ name: 'm', alias: 'champion', version: '3' });
    expect(server.requests[1]?.method).toBe('DELETE');
    expect(server.requests[1]?.path).toBe(`${API}/registered-models/alias`);
    expect(server.requests[1]?.body).toEqual({ name: 'm', alias: 'champion' });
  });

  it('turns tag records into key/value lists and stringifies params', async () => {
    const { client, server } = await fake(({ path }) =>
      path.endsWith('runs/create')
        ? {
            json: {
              run: {
                info: {
                  run_id: 'r1',
                  experiment_id: '7',
                  status: 'RUNNING',
                  artifact_uri: '/a/7/r1/artifacts',
                  lifecycle_stage: 'active',
                },
              },
            },
          }
        : { json: {} },
    );

    const run = await client.createRun('7', { runName: 'n', tags: { team: 'ml' }, startTime: 5 });
    await client.logParam('r1', 'lr', 0.1);

    expect(server.requests[0]?.body).toEqual({
      experiment_id: '7',
      run_name: 'n',
      start_time: 5,
      tags: [{ key: 'team', value: 'ml' }],
    });
    expect(server.requests[1]?.body).toEqual({ run_id: 'r1', key: 'lr', value: '0.1' });
    // A run with nothing logged arrives without `data`; callers still get empty lists.
    expect(run.data).toEqual({ metrics: [], params: [], tags: [] });
    expect(run.info.artifact_uri).toBe('/a/7/r1/artifacts');
  });

  it('repeats order_by on GET searches and defaults max_results for experiment search', async () => {
    const { client, server } = await fake(() => ({ json: {} }));

    const models = await client.searchRegisteredModels({
      orderBy: ['name ASC', 'last_updated_timestamp DESC'],
    });
    const experiments = await client.searchExperiments({ filter: "name = 'e'" });

    expect(server.requests[0]?.query.getAll('order_by')).toEqual(['name ASC', 'last_updated_timestamp DESC']);
    expect(server.requests[1]?.body).toEqual({ max_results: 1000, filter: "name = 'e'" });
    expect(models).toEqual({ registeredModels: [], nextPageToken: undefined });
    expect(experiments).toEqual({ experiments: [], nextPageToken: undefined });
  });

  it('splits a batch over the server caps into several requests', async () => {
    const { client, server } = await fake(() => ({ json: {} }));
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, String(i)]));

    await client.logBatch('r1', { params, metrics: [{ key: 'acc', value: 0.9, timestamp: 1 }] });
    await client.logBatch('r1', { params: { a: '1' }, tags: { t: 'v' } });

    const sizes = server.requests.map((request) => {
      const body = request.body as { params?: unknown[]; metrics?: unknown[]; tags?: unknown[] };
      return [body.params?.length ?? 0, body.metrics?.length ?? 0, body.tags?.length ?? 0];
    });
    expect(sizes).toEqual([
      [100, 0, 0],
      [50, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
  });

  it('parses NaN metrics and numeric-string int64 fields', async () => {
    const { client } = await fake(() => ({
      json: {
        run: {
          info: {
            run_id: 'r1',
            experiment_id: '7',
            status: 'FINISHED',
            start_time: '1700000000000',
            artifact_uri: 's3://b/7/r1/artifacts',
            lifecycle_stage: 'active',
          },
          data: { metrics: [{ key: 'loss', value: 'NaN', timestamp: 1 }] },
        },
      },
    }));

    const run = await client.getRun('r1');

    expect(run.info.start_time).toBe(1_700_000_000_000);
    expect(run.data.metrics).toEqual([{ key: 'loss', value: Number.NaN, timestamp: 1, step: 0 }]);
  });

  it('builds runs:/ sources', () => {
    expect(runArtifactSource('abc', '/model')).toBe('runs:/abc/model');
  });
});

describe('getOrCreateExperiment', () => {
  it('returns the existing experiment without trying to create one', async () => {
    const { client, server } = await fake(() => ({ json: experiment() }));

    const found = await client.getOrCreateExperiment('e');

    expect(found.experiment_id).toBe('7');
    expect(calls(server)).toEqual(['GET experiments/get-by-name']);
  });

  it('reads the winner when another caller creates it first', async () => {
    let lookups = 0;
    const { client, server } = await fake(({ path }) => {
      if (path.endsWith('experiments/get-by-name')) {
        lookups += 1;
        return lookups === 1 ? mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'no') : { json: experiment() };
      }
      return mlflowError(400, 'RESOURCE_ALREADY_EXISTS', 'Experiment(name=e) already exists.');
    });

    const found = await client.getOrCreateExperiment('e');

    expect(found.experiment_id).toBe('7');
    expect(calls(server)).toEqual([
      'GET experiments/get-by-name',
      'POST experiments/create',
      'GET experiments/get-by-name',
    ]);
  });

  it('creates and returns the full experiment when it is missing', async () => {
    const { client, server } = await fake(({ path }) => {
      if (path.endsWith('experiments/get-by-name')) return mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'no');
      if (path.endsWith('experiments/create')) return { json: { experiment_id: '7' } };
      return { json: experiment() };
    });

    const created = await client.getOrCreateExperiment('e', { tags: { owner: 'shepherd' } });

    expect(created.name).toBe('e');
    expect(server.requests[1]?.body).toEqual({ name: 'e', tags: [{ key: 'owner', value: 'shepherd' }] });
    expect(server.requests[2]?.query.get('experiment_id')).toBe('7');
  });

  it('refuses to reuse a deleted experiment', async () => {
    const { client } = await fake(() => ({ json: experiment('deleted') }));

    const err = await client.getOrCreateExperiment('e').catch((caught: unknown) => caught);

    expect(err).toBeInstanceOf(ShepherdError);
    expect((err as ShepherdError).code).toBe('conflict');
    expect((err as ShepherdError).message).toMatch(/deleted/);
  });

  it('does not swallow other errors', async () => {
    const { client } = await fake(() => mlflowError(500, 'INTERNAL_ERROR', 'boom'));

    await expect(client.getOrCreateExperiment('e')).rejects.toMatchObject({ errorCode: 'INTERNAL_ERROR' });
  });
});

describe('ensureRegisteredModel', () => {
  it('reads the winner when the create loses a race', async () => {
    let lookups = 0;
    const { client, server } = await fake(({ path }) => {
      if (path.endsWith('registered-models/get')) {
        lookups += 1;
        return lookups === 1
          ? mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'no')
          : { json: { registered_model: { name: 'm', description: 'theirs' } } };
      }
      return mlflowError(400, 'RESOURCE_ALREADY_EXISTS', 'Registered Model (name=m) already exists.');
    });

    const model = await client.ensureRegisteredModel('m', { description: 'mine' });

    expect(model.description).toBe('theirs');
    expect(model.aliases).toEqual([]);
    expect(calls(server)).toEqual([
      'GET registered-models/get',
      'POST registered-models/create',
      'GET registered-models/get',
    ]);
  });
});

describe('aliases', () => {
  it('resolves a version by alias', async () => {
    const { client, server } = await fake(() => ({ json: { model_version: modelVersion } }));

    const version = await client.getModelVersionByAlias('m', 'champion');

    expect(version.version).toBe('3');
    expect(version.aliases).toEqual(['champion']);
    expect(server.requests[0]?.query.get('alias')).toBe('champion');
  });

  it('finds nothing for an alias the model does not have', async () => {
    const { client } = await fake(({ path }) =>
      path.endsWith('registered-models/alias')
        ? mlflowError(400, 'INVALID_PARAMETER_VALUE', 'Registered model alias champion not found.')
        : { json: { registered_model: { name: 'm', aliases: [{ alias: 'challenger', version: '2' }] } } },
    );

    await expect(client.findModelVersionByAlias('m', 'champion')).resolves.toBeUndefined();
  });

  it('still throws when the model itself is missing', async () => {
    const { client } = await fake(({ path }) =>
      path.endsWith('registered-models/alias')
        ? mlflowError(400, 'INVALID_PARAMETER_VALUE', 'Registered model alias champion not found.')
        : mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=m not found'),
    );

    const err = await client.findModelVersionByAlias('m', 'champion').catch((caught: unknown) => caught);

    expect(err).toBeInstanceOf(MlflowError);
    expect((err as MlflowError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});
