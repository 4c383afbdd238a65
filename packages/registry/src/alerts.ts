import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import { alerts, type Alert } from '@shepherd/db/schema';
import {
  runbooks,
  type AlertKind,
  type AlertSeverity,
  type AlertSource,
  type AlertState,
  type AlertView,
} from '@shepherd/contracts/alerts';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';

export interface AlertSignal {
  source: AlertSource;
  kind: AlertKind;
  severity: AlertSeverity;
  /** Same key while the same problem lasts: e.g. `rollout:<id>`, `drift:<endpoint>:<feature>`. */
  dedupKey: string;
  subject: { kind: string; id: string };
  summary: string;
  details?: Record<string, unknown>;
}

/**
 * Fires an alert, or counts another occurrence of the open one with the same dedup key.
 * `created` tells the caller whether to notify: a repeat does not page again.
 */
export async function raiseAlert(
  ctx: RegistryContext,
  signal: AlertSignal,
): Promise<{ alert: Alert; created: boolean }> {
  return ctx.db.transaction(async (tx) => {
    // Serialises raises of one key, so two concurrent raises make one alert.
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtext(${`shepherd:alert:${ctx.projectId}:${signal.dedupKey}`}))`,
    );
    const [open] = await tx
      .select()
      .from(alerts)
      .where(
        and(
          eq(alerts.projectId, ctx.projectId),
          eq(alerts.dedupKey, signal.dedupKey),
          ne(alerts.state, 'resolved'),
        ),
      );
    if (open) {
      const [repeated] = await tx
        .update(alerts)
        .set({
          occurrences: open.occurrences + 1,
          lastFiredAt: new Date(),
          // Merged, so what was added meanwhile (the remedy a policy or a person started) stays.
          details: { ...open.details, ...signal.details },
          summary: signal.summary,
        })
        .where(eq(alerts.id, open.id))
        .returning();
      return { alert: repeated!, created: false };
    }
    const [created] = await tx
      .insert(alerts)
      .values({
        projectId: ctx.projectId,
        source: signal.source,
        kind: signal.kind,
        severity: signal.severity,
        dedupKey: signal.dedupKey,
        subjectKind: signal.subject.kind,
        subjectId: signal.subject.id,
        summary: signal.summary,
        details: signal.details ?? {},
        runbook: runbooks[signal.kind],
      })
      .returning();
    await recordAudit(tx, ctx, {
      action: 'alert.fired',
      subjectKind: 'alert',
      subjectId: created!.id,
      after: {
        kind: signal.kind,
        severity: signal.severity,
        summary: signal.summary,
        dedupKey: signal.dedupKey,
      },
    });
    return { alert: created!, created: true };
  });
}

const allowedMoves: Record<AlertState, readonly AlertState[]> = {
  firing: ['acknowledged', 'resolved'],
  acknowledged: ['resolved'],
  resolved: [],
};

/** Acknowledge or resolve, by a person or (auto-resolve) by the monitor whose signal cleared. */
export async function moveAlert(
  ctx: RegistryContext,
  id: string,
  to: Exclude<AlertState, 'firing'>,
  note?: string,
): Promise<Alert> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(alerts)
      .where(and(eq(alerts.projectId, ctx.projectId), eq(alerts.id, id)))
      .for('update');
    if (!current) throw new ShepherdError('not_found', `alert ${id} does not exist`);
    if (current.state === to) return current;
    if (!allowedMoves[current.state].includes(to)) {
      throw new ShepherdError('conflict', `alert is ${current.state} and cannot become ${to}`);
    }
    const now = new Date();
    const [updated] = await tx
      .update(alerts)
      .set(
        to === 'acknowledged'
          ? { state: to, acknowledgedAt: now, acknowledgedBy: ctx.actor }
          : { state: to, resolvedAt: now, resolvedBy: ctx.actor },
      )
      .where(eq(alerts.id, id))
      .returning();
    await recordAudit(tx, ctx, {
      action: `alert.${to}`,
      subjectKind: 'alert',
      subjectId: id,
      before: { state: current.state },
      after: { state: to, ...(note ? { note } : {}) },
    });
    return updated!;
  });
}

/** Resolves the open alert of a key when its signal clears; nothing open is fine. */
export async function resolveByDedupKey(ctx: RegistryContext, dedupKey: string): Promise<Alert | undefined> {
  const [open] = await ctx.db
    .select({ id: alerts.id })
    .from(alerts)
    .where(
      and(eq(alerts.projectId, ctx.projectId), eq(alerts.dedupKey, dedupKey), ne(alerts.state, 'resolved')),
    );
  return open ? moveAlert(ctx, open.id, 'resolved', 'signal cleared') : undefined;
}

/** Adds to an alert's details (e.g. the remedy a policy or a person started), keeping what is there. */
export async function annotateAlert(
  ctx: RegistryContext,
  id: string,
  details: Record<string, unknown>,
): Promise<Alert> {
  const [row] = await ctx.db
    .update(alerts)
    .set({ details: sql`${alerts.details} || ${JSON.stringify(details)}::jsonb` })
    .where(and(eq(alerts.projectId, ctx.projectId), eq(alerts.id, id)))
    .returning();
  if (!row) throw new ShepherdError('not_found', `alert ${id} does not exist`);
  return row;
}

export async function getAlert(ctx: RegistryContext, id: string): Promise<Alert> {
  const [row] = await ctx.db
    .select()
    .from(alerts)
    .where(and(eq(alerts.projectId, ctx.projectId), eq(alerts.id, id)));
  if (!row) throw new ShepherdError('not_found', `alert ${id} does not exist`);
  return row;
}

export async function listAlerts(
  ctx: RegistryContext,
  filter: { states?: AlertState[]; limit?: number } = {},
): Promise<Alert[]> {
  const conditions = [eq(alerts.projectId, ctx.projectId)];
  if (filter.states && filter.states.length > 0) conditions.push(inArray(alerts.state, filter.states));
  return ctx.db
    .select()
    .from(alerts)
    .where(and(...conditions))
    .orderBy(desc(alerts.firedAt))
    .limit(filter.limit ?? 200);
}

export const alertView = (row: Alert): AlertView => ({
  id: row.id,
  source: row.source,
  kind: row.kind,
  severity: row.severity,
  state: row.state,
  dedupKey: row.dedupKey,
  subject: { kind: row.subjectKind, id: row.subjectId },
  summary: row.summary,
  details: row.details,
  runbook: row.runbook,
  occurrences: row.occurrences,
  firedAt: row.firedAt.toISOString(),
  lastFiredAt: row.lastFiredAt.toISOString(),
  acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
  acknowledgedBy: row.acknowledgedBy,
  resolvedAt: row.resolvedAt?.toISOString() ?? null,
  resolvedBy: row.resolvedBy,
});
