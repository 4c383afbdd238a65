import { and, eq, sql } from 'drizzle-orm';
import {
  parityMonitorConfig,
  type ParityMonitorConfig,
  type ParityMonitorView,
  type ParityReport,
} from '@shepherd/contracts/features';
import { ShepherdError } from '@shepherd/core/errors';
import { featureParityMonitors, type FeatureParityMonitor } from '@shepherd/db/schema';
import { recordAudit } from '@shepherd/registry/audit';
import type { RegistryContext } from '@shepherd/registry/context';
import { getFeatureView } from './registry.ts';

export async function getParityMonitor(
  ctx: RegistryContext,
  viewName: string,
): Promise<FeatureParityMonitor | undefined> {
  const [row] = await ctx.db
    .select()
    .from(featureParityMonitors)
    .where(
      and(eq(featureParityMonitors.projectId, ctx.projectId), eq(featureParityMonitors.viewName, viewName)),
    );
  return row;
}

/**
 * Records a running parity monitor for the view (a stopped one is restarted with the new config).
 * `started` is false when it was already running: the caller then starts nothing, and the running
 * monitor keeps its config.
 */
export async function startParityMonitor(
  ctx: RegistryContext,
  viewName: string,
  config: ParityMonitorConfig,
  workflowId: string,
): Promise<{ monitor: FeatureParityMonitor; started: boolean }> {
  // Refuses a view (or pinned version) that does not exist, before anything is written.
  await getFeatureView(ctx.db, ctx.projectId, viewName, config.version);
  return ctx.db.transaction(async (tx) => {
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtext(${`shepherd:parity-monitor:${ctx.projectId}:${viewName}`}))`,
    );
    const [existing] = await tx
      .select()
      .from(featureParityMonitors)
      .where(
        and(eq(featureParityMonitors.projectId, ctx.projectId), eq(featureParityMonitors.viewName, viewName)),
      );
    if (existing?.state === 'running') return { monitor: existing, started: false };
    const values = { state: 'running' as const, config, workflowId, startedBy: ctx.actor, stoppedAt: null };
    const [monitor] = existing
      ? await tx
          .update(featureParityMonitors)
          .set(values)
          .where(eq(featureParityMonitors.id, existing.id))
          .returning()
      : await tx
          .insert(featureParityMonitors)
          .values({ projectId: ctx.projectId, viewName, ...values })
          .returning();
    await recordAudit(tx, ctx, {
      action: 'parity_monitor.started',
      subjectKind: 'feature_view',
      subjectId: viewName,
      after: { config },
    });
    return { monitor: monitor!, started: true };
  });
}

/** Marks the view's monitor stopped; its workflow ends at its next check even if never told. */
export async function stopParityMonitor(
  ctx: RegistryContext,
  viewName: string,
): Promise<FeatureParityMonitor> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(featureParityMonitors)
      .where(
        and(eq(featureParityMonitors.projectId, ctx.projectId), eq(featureParityMonitors.viewName, viewName)),
      )
      .for('update');
    if (!current) throw new ShepherdError('not_found', `feature view ${viewName} has no parity monitor`);
    if (current.state === 'stopped') return current;
    const [stopped] = await tx
      .update(featureParityMonitors)
      .set({ state: 'stopped', stoppedAt: new Date() })
      .where(eq(featureParityMonitors.id, current.id))
      .returning();
    await recordAudit(tx, ctx, {
      action: 'parity_monitor.stopped',
      subjectKind: 'feature_view',
      subjectId: viewName,
      before: { state: 'running' },
      after: { state: 'stopped' },
    });
    return stopped!;
  });
}

/** Whether the monitor's current run is this workflow: false once stopped or restarted under another. */
export async function parityMonitorRuns(
  ctx: RegistryContext,
  viewName: string,
  workflowId: string,
): Promise<boolean> {
  const monitor = await getParityMonitor(ctx, viewName);
  return monitor?.state === 'running' && monitor.workflowId === workflowId;
}

export const parityMonitorView = (
  row: FeatureParityMonitor,
  latestReport: ParityReport | null,
): ParityMonitorView => ({
  id: row.id,
  view: row.viewName,
  state: row.state,
  config: parityMonitorConfig.parse(row.config),
  workflowId: row.workflowId,
  startedBy: row.startedBy,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
  stoppedAt: row.stoppedAt?.toISOString() ?? null,
  latestReport,
});
