import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { RolloutView } from '@shepherd/contracts/serving';
import type { ProjectSettingsView } from '@shepherd/contracts/settings';
import { auditEvents, type Project } from '@shepherd/db/schema';
import { verifyAuditChain } from '@shepherd/registry/audit';
import { createEndpoint } from '@shepherd/registry/endpoints';
import { createModel } from '@shepherd/registry/models';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { registerVersion } from '@shepherd/registry/versions';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger } from '@shepherd/testing/platform';
import type { Client } from '@temporalio/client';
import { buildApp } from '../src/app.ts';

/**
 * Four eyes per project, through the API against the real PostgreSQL and Temporal. Rollout
 * workflows are started on a task queue no worker polls: Temporal records the signals an
 * approval sends, which is what the API is responsible for; running the rollout is the worker's.
 */
describe('four-eyes promotion, configurable per project', { timeout: 60_000 }, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let temporal: Client;
  let closeTemporal: () => Promise<void>;
  const taskQueue = `four-eyes-${randomUUID()}`;
  const started: string[] = [];

  interface Team {
    project: Project;
    admin: string;
    approver: string;
    engineer: string;
  }
  let strict: Team;
  let relaxed: Team;

  async function team(prefix: string): Promise<Team> {
    const project = await ensureProject(database.db, `${prefix}-${randomUUID().slice(0, 8)}`);
    const token = (name: string, role: 'admin' | 'approver' | 'ml-engineer') =>
      createToken(database.db, { projectId: project.id, name, role, createdBy: 'test' }).then((t) => t.token);
    return {
      project,
      admin: await token('release-lead', 'admin'),
      approver: await token('reviewer', 'approver'),
      engineer: await token('engineer', 'ml-engineer'),
    };
  }

  const call = async <T>(
    method: 'GET' | 'POST' | 'PATCH',
    project: Project,
    path: string,
    token: string,
    body?: unknown,
  ) => {
    const response = await app.inject({
      method,
      url: `/v1/projects/${project.slug}${path}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.json<T>() };
  };

  const gatedPlan = [
    { weight: 50, bakeSeconds: 600, manualApproval: true },
    { weight: 100, bakeSeconds: 0 },
  ];

  /** A model with a champion on an endpoint, and a rollout of a second version (with a manual gate). */
  async function rolloutIn(t: Team, steps: unknown[] = gatedPlan): Promise<RolloutView> {
    const ctx = { db: database.db, projectId: t.project.id, actor: 'test' };
    const model = await createModel(ctx, {
      name: `m-${randomUUID().slice(0, 8)}`,
      task: 'binary_classification',
    });
    const version = () =>
      registerVersion(ctx, {
        modelId: model.id,
        artifactUri: 's3://four-eyes/model.onnx',
        artifactSha256: 'a'.repeat(64),
        state: 'validated',
        requestId: randomUUID(),
      });
    const champion = await version();
    await version();
    const endpoint = await createEndpoint(ctx, {
      name: `e-${randomUUID().slice(0, 8)}`,
      model: model.name,
      version: champion.version,
    });
    const response = await call<RolloutView>(
      'POST',
      t.project,
      `/endpoints/${endpoint.name}/rollouts`,
      t.admin,
      {
        requestId: randomUUID(),
        version: 2,
        steps,
      },
    );
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    started.push(response.body.workflowId);
    return response.body;
  }

  /** The signals the API sent a rollout's workflow, by name and actor. */
  async function signals(rollout: RolloutView) {
    const history = await temporal.workflow.getHandle(rollout.workflowId).fetchHistory();
    const sent: string[] = [];
    for (const event of history.events ?? []) {
      const signaled = event.workflowExecutionSignaledEventAttributes;
      if (!signaled) continue;
      const payload = signaled.input?.payloads?.[0]?.data;
      const actor = payload
        ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { actor: string }).actor
        : '?';
      sent.push(`${signaled.signalName} by ${actor}`);
    }
    return sent;
  }

  beforeAll(async () => {
    database = await openTestDatabase();
    const env = testEnv();
    const connection = await connectTemporal({
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
    });
    temporal = connection.client;
    closeTemporal = () => connection.connection.close();
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: {
        db: database.db,
        temporal,
        trainingTaskQueue: taskQueue,
        mainTaskQueue: taskQueue,
      },
    });
    strict = await team('four-eyes-on');
    relaxed = await team('four-eyes-off');
  });

  afterAll(async () => {
    for (const workflowId of started) {
      await temporal.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await app?.close();
    await closeTemporal?.();
    await database?.dispose();
  });

  it('is on for a new project, and only an admin reads or changes it', async () => {
    const settings = await call<ProjectSettingsView>('GET', strict.project, '/settings', strict.admin);
    expect(settings).toEqual({
      status: 200,
      body: { project: strict.project.slug, fourEyesPromotion: true },
    });
    for (const token of [strict.approver, strict.engineer]) {
      const change = await call<{ error: { code: string } }>('PATCH', strict.project, '/settings', token, {
        fourEyesPromotion: false,
      });
      expect(change.status).toBe(403);
      expect(change.body.error.code).toBe('forbidden');
      expect((await call('GET', strict.project, '/settings', token)).status).toBe(403);
    }
    // Another project's admin does not even learn the project exists.
    const foreign = await call('PATCH', strict.project, '/settings', relaxed.admin, {
      fourEyesPromotion: false,
    });
    expect(foreign.status).toBe(404);
    expect(
      (await call<ProjectSettingsView>('GET', strict.project, '/settings', strict.admin)).body
        .fourEyesPromotion,
    ).toBe(true);
  });

  it('refuses a change that names no setting or a value of the wrong type', async () => {
    for (const body of [{}, { fourEyesPromotion: 'no' }, { fourEyes: false }]) {
      const response = await call<{ error: { code: string; message: string } }>(
        'PATCH',
        strict.project,
        '/settings',
        strict.admin,
        body,
      );
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
    }
  });

  it('with four eyes on, whoever started a rollout may neither approve nor promote it', async () => {
    const rollout = await rolloutIn(strict);
    for (const action of ['approve', 'promote'] as const) {
      const own = await call<{ error: { code: string; message: string } }>(
        'POST',
        strict.project,
        `/rollouts/${rollout.id}/${action}`,
        strict.admin,
        {},
      );
      expect(own.status).toBe(403);
      expect(own.body.error.code).toBe('forbidden');
      expect(own.body.error.message).toMatch(/four eyes/);
    }
    const other = await call('POST', strict.project, `/rollouts/${rollout.id}/approve`, strict.approver, {});
    expect(other.status).toBe(202);
    // Only the second person's approval reached the workflow.
    expect(await signals(rollout)).toEqual(['approve by token:reviewer']);
  });

  it('with four eyes off for one project, its starter approves; the other project keeps four eyes', async () => {
    const change = await call<ProjectSettingsView>('PATCH', relaxed.project, '/settings', relaxed.admin, {
      fourEyesPromotion: false,
    });
    expect(change).toEqual({
      status: 200,
      body: { project: relaxed.project.slug, fourEyesPromotion: false },
    });

    const [audit] = await database.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.projectId, relaxed.project.id),
          eq(auditEvents.action, 'project.settings_updated'),
        ),
      );
    expect(audit).toMatchObject({
      actor: 'token:release-lead',
      subjectKind: 'project',
      subjectId: relaxed.project.id,
      before: { fourEyesPromotion: true },
      after: { fourEyesPromotion: false },
    });
    expect((await verifyAuditChain(database.db, relaxed.project.id)).ok).toBe(true);

    // The same change again is no change: nothing more in the audit log.
    await call('PATCH', relaxed.project, '/settings', relaxed.admin, { fourEyesPromotion: false });
    const entries = await database.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.projectId, relaxed.project.id),
          eq(auditEvents.action, 'project.settings_updated'),
        ),
      );
    expect(entries).toHaveLength(1);

    const own = await rolloutIn(relaxed);
    const approved = await call('POST', relaxed.project, `/rollouts/${own.id}/approve`, relaxed.admin, {});
    expect(approved.status).toBe(202);
    const promoted = await call('POST', relaxed.project, `/rollouts/${own.id}/promote`, relaxed.admin, {});
    expect(promoted.status).toBe(202);
    expect(await signals(own)).toEqual(['approve by token:release-lead', 'promoteNow by token:release-lead']);

    // The strict project is untouched by the other's change.
    expect(
      (await call<ProjectSettingsView>('GET', strict.project, '/settings', strict.admin)).body
        .fourEyesPromotion,
    ).toBe(true);
    const theirs = await rolloutIn(strict);
    const refused = await call<{ error: { message: string } }>(
      'POST',
      strict.project,
      `/rollouts/${theirs.id}/approve`,
      strict.admin,
      {},
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/four eyes/);

    // Turned back on, it applies to the next approval at once (no token cache in the way).
    await call('PATCH', relaxed.project, '/settings', relaxed.admin, { fourEyesPromotion: true });
    const again = await rolloutIn(relaxed);
    expect(
      (await call('POST', relaxed.project, `/rollouts/${again.id}/approve`, relaxed.admin, {})).status,
    ).toBe(403);
  });

  it('with four eyes on, a plan without a manual gate waits for approval before its final step', async () => {
    const gateless = [
      { weight: 10, bakeSeconds: 600 },
      { weight: 100, bakeSeconds: 0 },
    ];
    const gated = await rolloutIn(strict, gateless);
    expect(gated.steps.map((s) => s.manualApproval)).toEqual([false, true]);
    const [started] = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectId, gated.id), eq(auditEvents.action, 'rollout.started')));
    expect(started?.after).toMatchObject({ steps: [{ manualApproval: false }, { manualApproval: true }] });

    // A project that turned four eyes off runs the plan as given.
    const open = await team('four-eyes-off-plan');
    await call('PATCH', open.project, '/settings', open.admin, { fourEyesPromotion: false });
    const ungated = await rolloutIn(open, gateless);
    expect(ungated.steps.map((s) => s.manualApproval)).toEqual([false, false]);
  });
});
