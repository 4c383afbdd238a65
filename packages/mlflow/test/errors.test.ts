import { afterEach, describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { MlflowClient } from '../src/client.ts';
import { MlflowError, isMlflowError } from '../src/errors.ts';
import { mlflowError, startFakeServer, type FakeServer, type Reply } from './fake-server.ts';

let server: FakeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientAnswering(reply: Reply): Promise<MlflowClient> {
  server = await startFakeServer(() => reply);
  return new MlflowClient({ trackingUri: server.url, timeoutMs: 2000 });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('MLflow error bodies', () => {
  it('maps RESOURCE_DOES_NOT_EXIST to not_found and keeps MLflow code, status and message', async () => {
    const client = await clientAnswering(
      mlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'Registered Model with name=nope not found'),
    );
    const err = await caught(client.getRegisteredModel('nope'));

    expect(err).toBeInstanceOf(MlflowError);
    expect(err).toBeInstanceOf(ShepherdError);
    const mlflow = err as MlflowError;
    expect(mlflow.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(mlflow.httpStatus).toBe(404);
    expect(mlflow.message).toBe('Registered Model with name=nope not found');
    expect(mlflow.code).toBe('not_found');
    expect(mlflow.status).toBe(404);
    expect(mlflow.method).toBe('GET');
    // The query string (which may carry names or tokens) stays out of the error.
    expect(mlflow.url).toBe(`${server?.url}/api/2.0/mlflow/registered-models/get`);
  });

  it('maps RESOURCE_ALREADY_EXISTS (sent by MLflow as HTTP 400) to conflict', async () => {
    const client = await clientAnswering(
      mlflowError(400, 'RESOURCE_ALREADY_EXISTS', 'Registered Model (name=m) already exists.'),
    );
    const err = await caught(client.createRegisteredModel('m'));

    expect(isMlflowError(err, 'RESOURCE_ALREADY_EXISTS')).toBe(true);
    expect((err as MlflowError).httpStatus).toBe(400);
    expect((err as MlflowError).code).toBe('conflict');
  });

  it('maps INVALID_PARAMETER_VALUE to bad_request', async () => {
    const client = await clientAnswering(
      mlflowError(400, 'INVALID_PARAMETER_VALUE', "Version alias name 'v1' is reserved."),
    );
    const err = await caught(client.setAlias('m', 'v1', 1));

    expect(isMlflowError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect((err as MlflowError).code).toBe('bad_request');
    expect((err as MlflowError).message).toBe("Version alias name 'v1' is reserved.");
  });

  it('gives a plain-text rejection from in front of the handlers a status-derived code', async () => {
    // What MLflow 3's host-header check answers when MLFLOW_TRACKING_URI uses a host it does not allow.
    const client = await clientAnswering({
      status: 403,
      text: 'Invalid Host header - possible DNS rebinding attack detected',
    });
    const err = await caught(client.getRun('r1'));

    expect(isMlflowError(err, 'PERMISSION_DENIED')).toBe(true);
    const mlflow = err as MlflowError;
    expect(mlflow.httpStatus).toBe(403);
    expect(mlflow.message).toContain('Invalid Host header');
    // Shepherd's caller did nothing wrong; this is a deployment problem.
    expect(mlflow.code).toBe('internal');
  });

  it('strips HTML from an error page instead of dumping markup into the message', async () => {
    const client = await clientAnswering({
      status: 405,
      contentType: 'text/html',
      text: '<!doctype html>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>',
    });
    const err = await caught(client.searchRegisteredModels());

    expect(isMlflowError(err, 'ENDPOINT_NOT_FOUND')).toBe(true);
    expect((err as MlflowError).message).toBe('HTTP 405: 405 Method Not Allowed Method Not Allowed');
  });

  it('treats a 5xx without a body as the upstream being unavailable', async () => {
    const client = await clientAnswering({ status: 502, text: '' });
    const err = await caught(client.getExperiment('1'));

    expect(isMlflowError(err, 'INTERNAL_ERROR')).toBe(true);
    expect((err as MlflowError).code).toBe('upstream_unavailable');
    expect((err as MlflowError).message).toBe('HTTP 502: (empty body)');
  });

  it('refuses a 200 that is not JSON rather than reading it as an empty success', async () => {
    const client = await clientAnswering({
      status: 200,
      contentType: 'text/html',
      text: '<html>Sign in</html>',
    });
    const err = await caught(client.logParam('r1', 'lr', 0.1));

    expect(isMlflowError(err, 'UNEXPECTED_RESPONSE')).toBe(true);
    expect((err as MlflowError).message).toContain('Sign in');
  });

  it('refuses a 200 whose JSON does not match the schema, naming the field', async () => {
    const client = await clientAnswering({ json: { registered_model: { name: 7 } } });
    const err = await caught(client.getRegisteredModel('m'));

    expect(isMlflowError(err, 'UNEXPECTED_RESPONSE')).toBe(true);
    expect((err as MlflowError).message).toContain('registered_model.name');
  });
});
