import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { getAliases, promote, resolveAlias, setAlias } from '../src/aliases.ts';
import { verifyAuditChain } from '../src/audit.ts';
import type { RegistryContext } from '../src/context.ts';
import { addEdges, walkLineage } from '../src/lineage.ts';
import { createModel, getModel, listModels } from '../src/models.ts';
import { ensureProject } from '../src/projects.ts';
import { listVersions, registerVersion, transitionVersion } from '../src/versions.ts';

const sha = (digit: string) => digit.repeat(64);

describe('registry on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let ctx: RegistryContext;
  let other: RegistryContext;

  beforeAll(async () => {
    database = await openTestDatabase();
    const project = await ensureProject(database.db, 'fraud-team');
    const otherProject = await ensureProject(database.db, 'other-team');
    ctx = { db: database.db, projectId: project.id, actor: 'alice' };
    other = { db: database.db, projectId: otherProject.id, actor: 'mallory' };
  });
  afterAll(() => database?.dispose());

  const newVersion = (modelId: string, requestId = randomUUID()) =>
    registerVersion(ctx, {
      modelId,
      artifactUri: `file:///models/${requestId}.onnx`,
      artifactSha256: sha('a'),
      requestId,
    });

  it('creates models once per project and keeps projects apart', async () => {
    await createModel(ctx, { name: 'fraud', task: 'binary_classification' });
    await expect(createModel(ctx, { name: 'fraud', task: 'binary_classification' })).rejects.toMatchObject({
      code: 'conflict',
    });
    await createModel(other, { name: 'fraud', task: 'binary_classification' });
    expect((await listModels(ctx)).map((model) => model.name)).toEqual(['fraud']);
    await expect(getModel(other, 'missing')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('numbers versions without gaps under concurrent registration, and a retried request registers once', async () => {
    const model = await createModel(ctx, {
      name: `concurrent-${randomUUID()}`,
      task: 'binary_classification',
    });
    const versions = await Promise.all(Array.from({ length: 6 }, () => newVersion(model.id)));
    expect(versions.map((version) => version.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);

    const requestId = randomUUID();
    const first = await newVersion(model.id, requestId);
    const again = await newVersion(model.id, requestId);
    expect(again.id).toBe(first.id);
    expect(await listVersions(ctx, model.id)).toHaveLength(7);
  });

  it('follows the lifecycle and refuses moves it does not allow', async () => {
    const model = await createModel(ctx, {
      name: `lifecycle-${randomUUID()}`,
      task: 'binary_classification',
    });
    const version = await newVersion(model.id);
    await transitionVersion(ctx, version.id, 'validating');
    const rejected = await transitionVersion(ctx, version.id, 'rejected', {
      failureReason: 'auc 0.51 < 0.8',
    });
    expect(rejected).toMatchObject({ state: 'rejected', failureReason: 'auc 0.51 < 0.8' });
    await expect(transitionVersion(ctx, version.id, 'production')).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(setAlias(ctx, model.id, 'challenger', version.id)).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(transitionVersion(other, version.id, 'failed')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('promotes a version to champion, archives the previous one and audits both moves', async () => {
    const model = await createModel(ctx, { name: `promote-${randomUUID()}`, task: 'binary_classification' });
    const v1 = await newVersion(model.id);
    const v2 = await newVersion(model.id);
    for (const version of [v1, v2]) {
      await transitionVersion(ctx, version.id, 'validating');
      await transitionVersion(ctx, version.id, 'validated');
    }
    await promote(ctx, model.id, v1.id);
    await setAlias(ctx, model.id, 'challenger', v2.id);
    await expect(setAlias(ctx, model.id, 'champion', v2.id)).rejects.toMatchObject({ code: 'bad_request' });

    const { champion, previousChampion } = await promote(ctx, model.id, v2.id);
    expect(champion).toMatchObject({ id: v2.id, state: 'production' });
    expect(previousChampion).toMatchObject({ id: v1.id, state: 'archived' });
    expect(await getAliases(ctx, model.id)).toEqual({ champion: v2.id });
    expect((await resolveAlias(ctx, model.id, 'champion'))?.id).toBe(v2.id);

    const audit = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.projectId, ctx.projectId), eq(auditEvents.action, 'version.promoted')));
    expect(audit.filter((event) => [v1.id, v2.id].includes(event.subjectId))).toHaveLength(2);
    expect(audit.every((event) => event.actor === 'alice')).toBe(true);
  });

  it('chains audit entries so an edited or removed entry is found', async () => {
    expect(await verifyAuditChain(database.db, ctx.projectId)).toMatchObject({ ok: true });
    const events = await database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.projectId, ctx.projectId))
      .orderBy(auditEvents.id);
    expect(events.length).toBeGreaterThan(5);
    const victim = events[3]!;
    // Someone with database access goes around the append-only trigger.
    const tamper = async (statement: ReturnType<typeof sql>) =>
      database.db.transaction(async (tx) => {
        await tx.execute(sql`set local session_replication_role = replica`);
        await tx.execute(statement);
      });
    await tamper(sql`update audit_events set actor = 'mallory' where id = ${victim.id}`);
    expect(await verifyAuditChain(database.db, ctx.projectId)).toMatchObject({
      ok: false,
      brokenAt: victim.id,
      reason: expect.stringMatching(/edited/),
    });
    await tamper(sql`update audit_events set actor = ${victim.actor} where id = ${victim.id}`);
    expect(await verifyAuditChain(database.db, ctx.projectId)).toMatchObject({ ok: true });

    await tamper(sql`delete from audit_events where id = ${victim.id}`);
    expect(await verifyAuditChain(database.db, ctx.projectId)).toMatchObject({
      ok: false,
      brokenAt: events[4]!.id,
      reason: expect.stringMatching(/removed/),
    });
    // Other projects' chains are their own.
    expect(await verifyAuditChain(database.db, other.projectId)).toMatchObject({ ok: true });
  });

  it('finds an entry slipped in without a hash, which the append-only trigger lets through', async () => {
    expect(await verifyAuditChain(database.db, other.projectId)).toMatchObject({ ok: true });
    const [forged] = await database.db
      .insert(auditEvents)
      .values({
        projectId: other.projectId,
        actor: 'alice',
        action: 'version.promoted',
        subjectKind: 'model_version',
        subjectId: randomUUID(),
      })
      .returning();
    expect(await verifyAuditChain(database.db, other.projectId)).toMatchObject({
      ok: false,
      brokenAt: forged!.id,
      reason: expect.stringMatching(/outside the hash chain/),
    });
  });

  it('walks lineage upstream and downstream', async () => {
    const set = { kind: 'training_set' as const, id: randomUUID() };
    const run = { kind: 'run' as const, id: `mlflow-${randomUUID()}` };
    const version = { kind: 'model_version' as const, id: randomUUID() };
    await addEdges(ctx.db, ctx.projectId, [
      { from: set, to: run, relation: 'trained' },
      { from: run, to: version, relation: 'produced' },
    ]);
    // Recording the same edges again (a retried activity) changes nothing.
    await addEdges(ctx.db, ctx.projectId, [{ from: set, to: run, relation: 'trained' }]);

    const upstream = await walkLineage(ctx, version, 'upstream');
    expect(upstream.nodes.map((node) => node.kind)).toEqual(['model_version', 'run', 'training_set']);
    expect(upstream.edges).toHaveLength(2);
    const downstream = await walkLineage(ctx, set, 'downstream');
    expect(downstream.nodes.map((node) => node.id)).toEqual([set.id, run.id, version.id]);
    expect((await walkLineage(other, version, 'upstream')).edges).toEqual([]);
  });
});
