import { createHash } from 'node:crypto';
import { and, asc, desc, eq } from 'drizzle-orm';
import {
  featureViewDefinition,
  normalizeFeatureView,
  type FeatureView,
  type FeatureViewDefinitionInput,
} from '@shepherd/contracts/features';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { featureViews, type FeatureViewRow } from '@shepherd/db/schema';
import { recordAudit } from '@shepherd/registry/audit';

export interface RegisteredFeatureView {
  id: string;
  projectId: string;
  view: FeatureView;
  definitionHash: string;
  createdAt: Date;
}

export interface FeatureRegistryContext {
  db: Database;
  projectId: string;
  actor: string;
  requestId?: string | undefined;
}

export interface RegisterResult {
  registered: RegisteredFeatureView;
  /** False when the same definition was already registered under this name and version. */
  created: boolean;
}

/**
 * Registers a view under (project, name, version). The same definition again is a no-op; a
 * different one is refused with a conflict that names each difference, because offline rows,
 * online rows and training sets already written under that version assume its schema.
 * Descriptions are documentation, not schema: they don't take part in the comparison.
 */
export async function registerFeatureView(
  ctx: FeatureRegistryContext,
  input: FeatureView | FeatureViewDefinitionInput,
): Promise<RegisterResult> {
  const parsed = featureViewDefinition.safeParse(input);
  if (!parsed.success) {
    throw new ShepherdError(
      'validation_failed',
      `invalid feature view: ${parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ')}`,
    );
  }
  const view = normalizeFeatureView(parsed.data);
  const hash = definitionHash(view);

  return ctx.db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(featureViews)
      .values({
        projectId: ctx.projectId,
        name: view.name,
        version: view.version,
        sourceTopic: view.sourceTopic,
        definition: view as unknown as Record<string, unknown>,
        definitionHash: hash,
        createdBy: ctx.actor,
      })
      .onConflictDoNothing({ target: [featureViews.projectId, featureViews.name, featureViews.version] })
      .returning();
    if (inserted) {
      await recordAudit(tx, ctx, {
        action: 'feature_view.registered',
        subjectKind: 'feature_view',
        subjectId: inserted.id,
        after: view,
      });
      return { registered: toRegistered(inserted), created: true };
    }
    const [existing] = await tx
      .select()
      .from(featureViews)
      .where(
        and(
          eq(featureViews.projectId, ctx.projectId),
          eq(featureViews.name, view.name),
          eq(featureViews.version, view.version),
        ),
      );
    if (!existing) throw new ShepherdError('internal', `feature view ${view.name} v${view.version} vanished`);
    const registered = toRegistered(existing);
    if (existing.definitionHash !== hash) {
      const differences = diffFeatureViews(registered.view, view);
      throw new ShepherdError(
        'conflict',
        `feature view '${view.name}' version ${view.version} is already registered with a different schema ` +
          `(${differences.join('; ')}); schema changes need a new version`,
        { details: { differences } },
      );
    }
    return { registered, created: false };
  });
}

/** One version, or the highest registered version when `version` is omitted. */
export async function getFeatureView(
  db: Database,
  projectId: string,
  name: string,
  version?: number,
): Promise<RegisteredFeatureView> {
  const [row] = await db
    .select()
    .from(featureViews)
    .where(
      and(
        eq(featureViews.projectId, projectId),
        eq(featureViews.name, name),
        version === undefined ? undefined : eq(featureViews.version, version),
      ),
    )
    .orderBy(desc(featureViews.version))
    .limit(1);
  if (!row) {
    throw new ShepherdError(
      'not_found',
      `feature view '${name}'${version === undefined ? '' : ` version ${version}`} is not registered`,
    );
  }
  return toRegistered(row);
}

export async function listFeatureViews(db: Database, projectId: string): Promise<RegisteredFeatureView[]> {
  const rows = await db
    .select()
    .from(featureViews)
    .where(eq(featureViews.projectId, projectId))
    .orderBy(asc(featureViews.name), asc(featureViews.version));
  return rows.map(toRegistered);
}

function toRegistered(row: FeatureViewRow): RegisteredFeatureView {
  return {
    id: row.id,
    projectId: row.projectId,
    view: normalizeFeatureView(featureViewDefinition.parse(row.definition)),
    definitionHash: row.definitionHash,
    createdAt: row.createdAt,
  };
}

/** sha256 of the view's schema: everything but descriptions, keys sorted. */
export function definitionHash(view: FeatureView): string {
  const schemaOnly = {
    ...view,
    description: undefined,
    features: view.features.map((feature) => ({ ...feature, description: undefined })),
  };
  return createHash('sha256').update(canonicalJson(schemaOnly)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What changed from `before` to `after`, one phrase per difference, in a stable order. */
export function diffFeatureViews(before: FeatureView, after: FeatureView): string[] {
  const out: string[] = [];
  for (const key of ['entityKey', 'eventTimeField', 'sourceTopic', 'ttlSeconds'] as const) {
    if (before[key] !== after[key]) {
      out.push(`${key}: ${JSON.stringify(before[key])} → ${JSON.stringify(after[key])}`);
    }
  }
  const describeFeature = (f: FeatureView['features'][number]) => `${f.type}${f.nullable ? ' nullable' : ''}`;
  const oldFeatures = new Map(before.features.map((f) => [f.name, f]));
  const newFeatures = new Map(after.features.map((f) => [f.name, f]));
  for (const [name, feature] of newFeatures) {
    const old = oldFeatures.get(name);
    if (!old) out.push(`feature '${name}' added (${describeFeature(feature)})`);
    else if (describeFeature(old) !== describeFeature(feature)) {
      out.push(`feature '${name}': ${describeFeature(old)} → ${describeFeature(feature)}`);
    }
  }
  for (const name of oldFeatures.keys()) {
    if (!newFeatures.has(name)) out.push(`feature '${name}' removed`);
  }
  const oldOrder = before.features.map((f) => f.name).filter((n) => newFeatures.has(n));
  const newOrder = after.features.map((f) => f.name).filter((n) => oldFeatures.has(n));
  if (oldOrder.join(',') !== newOrder.join(',')) out.push('features reordered');

  const describeAggregate = (a: FeatureView['aggregates'][number]) =>
    `${a.function}(${a.field ?? '*'}) over ${a.window}`;
  const oldAggregates = new Map(before.aggregates.map((a) => [a.name, a]));
  const newAggregates = new Map(after.aggregates.map((a) => [a.name, a]));
  for (const [name, agg] of newAggregates) {
    const old = oldAggregates.get(name);
    if (!old) out.push(`aggregate '${name}' added (${describeAggregate(agg)})`);
    else if (describeAggregate(old) !== describeAggregate(agg)) {
      out.push(`aggregate '${name}': ${describeAggregate(old)} → ${describeAggregate(agg)}`);
    }
  }
  for (const name of oldAggregates.keys()) {
    if (!newAggregates.has(name)) out.push(`aggregate '${name}' removed`);
  }
  const oldAggOrder = before.aggregates.map((a) => a.name).filter((n) => newAggregates.has(n));
  const newAggOrder = after.aggregates.map((a) => a.name).filter((n) => oldAggregates.has(n));
  if (oldAggOrder.join(',') !== newAggOrder.join(',')) out.push('aggregates reordered');
  if (out.length === 0) out.push('definitions differ');
  return out;
}
