import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, DbHandle, DbKind } from '../src/client.ts';
import { isForeignKeyViolation, isUniqueViolation, postgresError, sqlState } from '../src/errors.ts';
import { migrate, migrationsFolder } from '../src/migrate.ts';
import { auditEvents, lineageEdges, modelAliases, models, modelVersions, projects } from '../src/schema.ts';

const sha = (digit: string) => digit.repeat(64);

/** Inserts a project with a unique slug; returns its id. */
async function newProject(db: Database, slug = `p-${randomUUID()}`): Promise<string> {
  const [row] = await db.insert(projects).values({ slug, name: slug }).returning({ id: projects.id });
  if (!row) throw new Error('insert returned no row');
  return row.id;
}

/** Runs `action`, expecting it to fail, and returns the error for inspection. */
async function failure(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (err) {
    return err;
  }
  throw new Error('expected the statement to fail');
}

/**
 * The same behaviour is asserted on PGlite (unit) and on a real PostgreSQL (integration), since
 * production runs the latter and the embedded default the former.
 */
export function describeRegistrySchema(expectedKind: DbKind, open: () => Promise<DbHandle>): void {
  describe(`registry schema on ${expectedKind}`, () => {
    let handle: DbHandle;
    let db: Database;

    beforeAll(async () => {
      handle = await open();
      db = handle.db;
      await migrate(db);
      // PGlite runs initdb in WebAssembly on open: seconds on a small machine.
    }, 60_000);

    afterAll(async () => {
      await handle?.close();
    });

    it('is the expected kind of database and answers ping', async () => {
      expect(handle.kind).toBe(expectedKind);
      await expect(handle.ping()).resolves.toBeUndefined();
    });

    it('applies migrations idempotently', async () => {
      await migrate(db);
      // db.execute's result shape differs per driver; a select does not.
      const applied = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(sql`drizzle.__drizzle_migrations`);
      expect(applied).toEqual([{ count: readMigrationFiles({ migrationsFolder }).length }]);
    });

    it('round-trips a project, model, version and alias, read back through the project filter', async () => {
      const projectId = await newProject(db);
      const otherProjectId = await newProject(db);

      const [model] = await db
        .insert(models)
        .values({ projectId, name: 'churn', task: 'binary_classification', description: 'who leaves' })
        .returning();
      expect(model).toBeDefined();
      const modelId = model!.id;

      const [version] = await db
        .insert(modelVersions)
        .values({
          projectId,
          modelId,
          version: 1,
          artifactUri: 's3://shepherd-artifacts/churn/1/model.onnx',
          artifactSha256: sha('a'),
          mlflowRunId: 'run-123',
          metrics: { auc: 0.91, logloss: 0.23 },
          evaluation: { holdout: { auc: 0.91 }, golden: { passed: true } },
          referenceProfile: { features: { tenure: { bins: [0, 12, 24], counts: [5, 7] } } },
          tags: { team: 'growth' },
          requestId: 'req-1',
        })
        .returning();
      expect(version).toMatchObject({
        state: 'registered',
        format: 'onnx',
        trainingSetId: null,
        failureReason: null,
      });
      expect(version!.createdAt).toBeInstanceOf(Date);

      await db.insert(modelAliases).values({ projectId, modelId, alias: 'champion', versionId: version!.id });

      const rows = await db
        .select({
          model: models.name,
          task: models.task,
          version: modelVersions.version,
          state: modelVersions.state,
          metrics: modelVersions.metrics,
          evaluation: modelVersions.evaluation,
          referenceProfile: modelVersions.referenceProfile,
          tags: modelVersions.tags,
          alias: modelAliases.alias,
        })
        .from(modelAliases)
        .innerJoin(modelVersions, eq(modelVersions.id, modelAliases.versionId))
        .innerJoin(models, eq(models.id, modelAliases.modelId))
        .where(and(eq(modelAliases.projectId, projectId), eq(models.name, 'churn')));
      expect(rows).toEqual([
        {
          model: 'churn',
          task: 'binary_classification',
          version: 1,
          state: 'registered',
          metrics: { auc: 0.91, logloss: 0.23 },
          evaluation: { holdout: { auc: 0.91 }, golden: { passed: true } },
          referenceProfile: { features: { tenure: { bins: [0, 12, 24], counts: [5, 7] } } },
          tags: { team: 'growth' },
          alias: 'champion',
        },
      ]);

      const seenByOtherProject = await db
        .select()
        .from(models)
        .where(and(eq(models.projectId, otherProjectId), eq(models.name, 'churn')));
      expect(seenByOtherProject).toEqual([]);

      const withRelations = await db.query.models.findFirst({
        where: and(eq(models.projectId, projectId), eq(models.id, modelId)),
        with: { versions: true, aliases: true },
      });
      expect(withRelations?.versions.map((v) => v.version)).toEqual([1]);
      expect(withRelations?.aliases.map((a) => a.alias)).toEqual(['champion']);
    });

    it('moves an alias with an upsert and stamps updated_at', async () => {
      const projectId = await newProject(db);
      const [model] = await db
        .insert(models)
        .values({ projectId, name: 'm', task: 'regression' })
        .returning();
      const [v1, v2] = await db
        .insert(modelVersions)
        .values([
          {
            projectId,
            modelId: model!.id,
            version: 1,
            artifactUri: 'file:///a/1.onnx',
            artifactSha256: sha('1'),
          },
          {
            projectId,
            modelId: model!.id,
            version: 2,
            artifactUri: 'file:///a/2.onnx',
            artifactSha256: sha('2'),
          },
        ])
        .returning();
      await db
        .insert(modelAliases)
        .values({ projectId, modelId: model!.id, alias: 'champion', versionId: v1!.id });
      const [before] = await db.select().from(modelAliases).where(eq(modelAliases.projectId, projectId));

      await db
        .insert(modelAliases)
        .values({ projectId, modelId: model!.id, alias: 'champion', versionId: v2!.id })
        .onConflictDoUpdate({
          target: [modelAliases.modelId, modelAliases.alias],
          set: { versionId: v2!.id, updatedAt: sql`now()` },
        });

      const after = await db.select().from(modelAliases).where(eq(modelAliases.projectId, projectId));
      expect(after).toHaveLength(1);
      expect(after[0]!.versionId).toBe(v2!.id);
      expect(after[0]!.updatedAt.getTime()).toBeGreaterThanOrEqual(before!.updatedAt.getTime());

      const [updated] = await db
        .update(modelVersions)
        .set({ state: 'validating' })
        .where(and(eq(modelVersions.projectId, projectId), eq(modelVersions.id, v1!.id)))
        .returning();
      expect(updated!.state).toBe('validating');
      expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(v1!.updatedAt.getTime());
    });

    it('raises unique violations with the constraint name', async () => {
      const slug = `dup-${randomUUID()}`;
      const projectId = await newProject(db, slug);
      const otherProjectId = await newProject(db);

      const dupSlug = await failure(() => newProject(db, slug));
      expect(isUniqueViolation(dupSlug, 'projects_slug_unique')).toBe(true);

      const [model] = await db
        .insert(models)
        .values({ projectId, name: 'fraud', task: 'binary_classification' })
        .returning();
      const dupName = await failure(() =>
        db.insert(models).values({ projectId, name: 'fraud', task: 'binary_classification' }),
      );
      expect(isUniqueViolation(dupName, 'models_project_name_unique')).toBe(true);
      // Names are unique per project, not globally.
      await db
        .insert(models)
        .values({ projectId: otherProjectId, name: 'fraud', task: 'binary_classification' });

      const version = {
        projectId,
        modelId: model!.id,
        version: 1,
        artifactUri: 'file:///fraud/1.onnx',
        artifactSha256: sha('f'),
        requestId: 'req-dup',
      };
      await db.insert(modelVersions).values(version);

      const dupVersion = await failure(() =>
        db.insert(modelVersions).values({ ...version, requestId: 'req-other' }),
      );
      expect(isUniqueViolation(dupVersion, 'model_versions_model_version_unique')).toBe(true);
      expect(postgresError(dupVersion)?.code).toBe(sqlState.uniqueViolation);

      // A retried registration is recognisable by its request id.
      const dupRequest = await failure(() => db.insert(modelVersions).values({ ...version, version: 2 }));
      expect(isUniqueViolation(dupRequest, 'model_versions_project_request_unique')).toBe(true);
      const [existing] = await db
        .insert(modelVersions)
        .values({ ...version, version: 2 })
        .onConflictDoNothing({ target: [modelVersions.projectId, modelVersions.requestId] })
        .returning();
      expect(existing).toBeUndefined();

      // Versions without a request id are never deduplicated against each other.
      await db.insert(modelVersions).values([
        { ...version, version: 3, requestId: null },
        { ...version, version: 4, requestId: null },
      ]);

      const versions = await db
        .select({ version: modelVersions.version })
        .from(modelVersions)
        .where(and(eq(modelVersions.projectId, projectId), eq(modelVersions.modelId, model!.id)))
        .orderBy(modelVersions.version);
      expect(versions.map((v) => v.version)).toEqual([1, 3, 4]);
    });

    it('keeps rows from pointing across projects or at another model', async () => {
      const projectA = await newProject(db);
      const projectB = await newProject(db);
      const [modelA] = await db
        .insert(models)
        .values({ projectId: projectA, name: 'a', task: 'regression' })
        .returning();
      const [modelA2] = await db
        .insert(models)
        .values({ projectId: projectA, name: 'a2', task: 'regression' })
        .returning();

      const crossProject = await failure(() =>
        db.insert(modelVersions).values({
          projectId: projectB,
          modelId: modelA!.id,
          version: 1,
          artifactUri: 'file:///x.onnx',
          artifactSha256: sha('b'),
        }),
      );
      expect(isForeignKeyViolation(crossProject, 'model_versions_model_fk')).toBe(true);

      const [versionA] = await db
        .insert(modelVersions)
        .values({
          projectId: projectA,
          modelId: modelA!.id,
          version: 1,
          artifactUri: 'file:///a.onnx',
          artifactSha256: sha('c'),
        })
        .returning();
      const otherModel = await failure(() =>
        db
          .insert(modelAliases)
          .values({ projectId: projectA, modelId: modelA2!.id, alias: 'champion', versionId: versionA!.id }),
      );
      expect(isForeignKeyViolation(otherModel, 'model_aliases_version_fk')).toBe(true);

      const badSha = await failure(() =>
        db.insert(modelVersions).values({
          projectId: projectA,
          modelId: modelA!.id,
          version: 2,
          artifactUri: 'file:///a2.onnx',
          artifactSha256: 'not-a-digest',
        }),
      );
      expect(postgresError(badSha)).toMatchObject({
        code: sqlState.checkViolation,
        constraint: 'model_versions_sha256_hex',
      });
    });

    it('walks lineage both ways and refuses duplicate edges', async () => {
      const projectId = await newProject(db);
      const edge = {
        projectId,
        fromKind: 'training_set' as const,
        fromId: 'ts-1',
        toKind: 'model_version' as const,
        toId: 'mv-1',
        relation: 'trained',
      };
      await db.insert(lineageEdges).values([
        edge,
        {
          ...edge,
          fromKind: 'feature_view',
          fromId: 'fv-1',
          toKind: 'training_set',
          toId: 'ts-1',
          relation: 'snapshot_of',
        },
      ]);
      const duplicate = await failure(() => db.insert(lineageEdges).values(edge));
      expect(isUniqueViolation(duplicate, 'lineage_edges_edge_unique')).toBe(true);

      const upstream = await db
        .select({ kind: lineageEdges.fromKind, id: lineageEdges.fromId })
        .from(lineageEdges)
        .where(
          and(
            eq(lineageEdges.projectId, projectId),
            eq(lineageEdges.toKind, 'training_set'),
            eq(lineageEdges.toId, 'ts-1'),
          ),
        );
      expect(upstream).toEqual([{ kind: 'feature_view', id: 'fv-1' }]);

      const downstream = await db
        .select({ kind: lineageEdges.toKind, id: lineageEdges.toId })
        .from(lineageEdges)
        .where(
          and(
            eq(lineageEdges.projectId, projectId),
            eq(lineageEdges.fromKind, 'training_set'),
            eq(lineageEdges.fromId, 'ts-1'),
          ),
        );
      expect(downstream).toEqual([{ kind: 'model_version', id: 'mv-1' }]);
    });

    it('keeps audit events append-only', async () => {
      const projectId = await newProject(db);
      const [event] = await db
        .insert(auditEvents)
        .values({
          projectId,
          actor: 'user:ada',
          action: 'model_version.promoted',
          subjectKind: 'model_version',
          subjectId: 'mv-1',
          before: { state: 'canary' },
          after: { state: 'production' },
          requestId: 'req-audit',
        })
        .returning();
      expect(typeof event!.id).toBe('number');

      const update = await failure(() =>
        db
          .update(auditEvents)
          .set({ actor: 'someone-else' })
          .where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.id, event!.id))),
      );
      expect(postgresError(update)?.code).toBe(sqlState.restrictViolation);
      const remove = await failure(() => db.delete(auditEvents).where(eq(auditEvents.projectId, projectId)));
      expect(postgresError(remove)?.code).toBe(sqlState.restrictViolation);
      const truncate = await failure(() => db.execute(sql`truncate audit_events`));
      expect(postgresError(truncate)?.code).toBe(sqlState.restrictViolation);

      const events = await db.select().from(auditEvents).where(eq(auditEvents.projectId, projectId));
      expect(events).toEqual([
        expect.objectContaining({ actor: 'user:ada', after: { state: 'production' } }),
      ]);
    });

    it('rolls a transaction back as a whole, and a transaction is a Database', async () => {
      const slug = `tx-${randomUUID()}`;
      const err = await failure(() =>
        db.transaction(async (tx) => {
          const txAsDatabase: Database = tx;
          await newProject(txAsDatabase, slug);
          await newProject(txAsDatabase, slug);
        }),
      );
      expect(isUniqueViolation(err, 'projects_slug_unique')).toBe(true);
      expect(await db.select().from(projects).where(eq(projects.slug, slug))).toEqual([]);
    });
  });
}
