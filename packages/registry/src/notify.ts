import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import { alertSeverities, type AlertSeverity } from '@shepherd/contracts/alerts';
import type {
  CreateWebhookBody,
  DeliveryView,
  NotificationEvent,
  PagerDutyBody,
  SlackBody,
  WebhookView,
} from '@shepherd/contracts/drift';
import { isUniqueViolation } from '@shepherd/db/errors';
import {
  notificationDeliveries,
  notificationWebhooks,
  type Alert,
  type NotificationDelivery,
  type NotificationWebhook,
} from '@shepherd/db/schema';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';

/** Alert notifications by webhook: Slack, PagerDuty Events v2, or a generic JSON body. */

export async function createWebhook(
  ctx: RegistryContext,
  body: CreateWebhookBody,
): Promise<NotificationWebhook> {
  try {
    return await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(notificationWebhooks)
        .values({
          projectId: ctx.projectId,
          name: body.name,
          kind: body.kind,
          url: body.url,
          routingKey: body.kind === 'pagerduty' ? body.routingKey : null,
          minSeverity: body.minSeverity,
          createdBy: ctx.actor,
        })
        .returning();
      await recordAudit(tx, ctx, {
        action: 'webhook.created',
        subjectKind: 'webhook',
        subjectId: row!.id,
        // The URL and routing key are secrets of sorts (anyone holding them can post): not in the log.
        after: { name: body.name, kind: body.kind, minSeverity: body.minSeverity },
      });
      return row!;
    });
  } catch (err) {
    if (isUniqueViolation(err, 'notification_webhooks_live_name_unique')) {
      throw new ShepherdError('conflict', `webhook ${body.name} already exists`, { cause: err });
    }
    throw err;
  }
}

export async function listWebhooks(ctx: RegistryContext): Promise<NotificationWebhook[]> {
  return ctx.db
    .select()
    .from(notificationWebhooks)
    .where(and(eq(notificationWebhooks.projectId, ctx.projectId), isNull(notificationWebhooks.deletedAt)))
    .orderBy(asc(notificationWebhooks.name));
}

export async function getWebhook(ctx: RegistryContext, name: string): Promise<NotificationWebhook> {
  const [row] = await ctx.db
    .select()
    .from(notificationWebhooks)
    .where(
      and(
        eq(notificationWebhooks.projectId, ctx.projectId),
        eq(notificationWebhooks.name, name),
        isNull(notificationWebhooks.deletedAt),
      ),
    );
  if (!row) throw new ShepherdError('not_found', `webhook ${name} does not exist`);
  return row;
}

/** By id, deleted or not: a notification already under way still goes where it was meant to. */
export async function getWebhookById(ctx: RegistryContext, id: string): Promise<NotificationWebhook> {
  const [row] = await ctx.db
    .select()
    .from(notificationWebhooks)
    .where(and(eq(notificationWebhooks.projectId, ctx.projectId), eq(notificationWebhooks.id, id)));
  if (!row) throw new ShepherdError('not_found', `webhook ${id} does not exist`);
  return row;
}

/** Kept (deleted_at set) so past deliveries still name their webhook. */
export async function deleteWebhook(ctx: RegistryContext, name: string): Promise<NotificationWebhook> {
  const webhook = await getWebhook(ctx, name);
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(notificationWebhooks)
      .set({ deletedAt: new Date() })
      .where(eq(notificationWebhooks.id, webhook.id))
      .returning();
    await recordAudit(tx, ctx, {
      action: 'webhook.deleted',
      subjectKind: 'webhook',
      subjectId: webhook.id,
      before: { name: webhook.name, kind: webhook.kind },
    });
    return row!;
  });
}

export const webhookView = (row: NotificationWebhook): WebhookView => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  url: row.url,
  routingKeySet: row.routingKey !== null,
  minSeverity: row.minSeverity,
  createdBy: row.createdBy,
  createdAt: row.createdAt.toISOString(),
});

const severityRank = (severity: AlertSeverity) => alertSeverities.indexOf(severity);

/** The project's webhooks that take an alert of this severity. */
export async function recipientsOf(ctx: RegistryContext, alert: Alert): Promise<NotificationWebhook[]> {
  return (await listWebhooks(ctx)).filter(
    (webhook) => severityRank(alert.severity) >= severityRank(webhook.minSeverity),
  );
}

// ---------------------------------------------------------------------------------------------
// Bodies.

export interface NotificationLinks {
  /** Prefix that turns the alert's repository-relative runbook path into a link (e.g. a docs site). */
  runbookBaseUrl?: string | undefined;
}

const runbookLink = (alert: Alert, links: NotificationLinks) =>
  links.runbookBaseUrl ? new URL(alert.runbook, links.runbookBaseUrl).toString() : alert.runbook;

const eventVerb: Record<NotificationEvent, string> = {
  trigger: 'FIRING',
  acknowledge: 'ACKNOWLEDGED',
  resolve: 'RESOLVED',
};

export function slackBody(alert: Alert, event: NotificationEvent, links: NotificationLinks = {}): SlackBody {
  const runbook = runbookLink(alert, links);
  const icon =
    event === 'resolve'
      ? ':white_check_mark:'
      : alert.severity === 'critical'
        ? ':rotating_light:'
        : ':warning:';
  const headline = `${eventVerb[event]} [${alert.severity}] ${alert.summary}`;
  return {
    text: `${headline} (runbook: ${runbook})`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${icon} *${eventVerb[event]}* \`${alert.severity}\` ${alert.summary}`,
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `*source* ${alert.source} · *kind* ${alert.kind} · *occurrences* ${alert.occurrences}`,
          },
          { type: 'mrkdwn', text: `*dedup* \`${alert.dedupKey}\` · *alert* \`${alert.id}\`` },
          {
            type: 'mrkdwn',
            text: `*runbook* ${runbook.startsWith('http') ? `<${runbook}|${alert.runbook}>` : runbook}`,
          },
        ],
      },
    ],
  };
}

const pagerDutySeverity: Record<AlertSeverity, 'critical' | 'warning' | 'info'> = {
  critical: 'critical',
  warning: 'warning',
  info: 'info',
};

export function pagerDutyBody(
  alert: Alert,
  event: NotificationEvent,
  routingKey: string,
  links: NotificationLinks = {},
): PagerDutyBody {
  const body: PagerDutyBody = { routing_key: routingKey, event_action: event, dedup_key: alert.dedupKey };
  // Events v2 reads payload and links on trigger only; acknowledge and resolve carry the key alone.
  if (event === 'trigger') {
    body.payload = {
      // PagerDuty truncates summaries at 1024 characters.
      summary: alert.summary.slice(0, 1024),
      severity: pagerDutySeverity[alert.severity],
      source: `shepherd/${alert.subjectKind}/${alert.subjectId}`,
      component: alert.subjectKind,
      group: alert.source,
      class: alert.kind,
      custom_details: { alertId: alert.id, occurrences: alert.occurrences, ...alert.details },
    };
    body.links = [{ href: runbookLink(alert, links), text: 'Runbook' }];
  }
  return body;
}

export function genericBody(alert: Alert, event: NotificationEvent, links: NotificationLinks = {}) {
  return {
    schemaVersion: 1,
    event,
    alert: {
      id: alert.id,
      source: alert.source,
      kind: alert.kind,
      severity: alert.severity,
      state: alert.state,
      dedupKey: alert.dedupKey,
      subject: { kind: alert.subjectKind, id: alert.subjectId },
      summary: alert.summary,
      details: alert.details,
      runbook: runbookLink(alert, links),
      occurrences: alert.occurrences,
      firedAt: alert.firedAt.toISOString(),
    },
  };
}

export function notificationBody(
  webhook: NotificationWebhook,
  alert: Alert,
  event: NotificationEvent,
  links: NotificationLinks = {},
): unknown {
  if (webhook.kind === 'slack') return slackBody(alert, event, links);
  if (webhook.kind === 'pagerduty') {
    if (!webhook.routingKey)
      throw new ShepherdError('unprocessable', `webhook ${webhook.name} has no routing key`);
    return pagerDutyBody(alert, event, webhook.routingKey, links);
  }
  return genericBody(alert, event, links);
}

// ---------------------------------------------------------------------------------------------
// Delivery: one attempt per call, every attempt recorded; the caller (a Temporal activity) retries.

export async function recordDeliveryAttempt(
  ctx: RegistryContext,
  key: { webhookId: string; alertId: string; event: NotificationEvent },
  outcome: { state: 'pending' | 'delivered' | 'failed'; status: number | null; error: string | null },
): Promise<NotificationDelivery> {
  const now = new Date();
  const [row] = await ctx.db
    .insert(notificationDeliveries)
    .values({
      projectId: ctx.projectId,
      ...key,
      state: outcome.state,
      attempts: 1,
      lastStatus: outcome.status,
      lastError: outcome.error,
      deliveredAt: outcome.state === 'delivered' ? now : null,
    })
    .onConflictDoUpdate({
      target: [
        notificationDeliveries.webhookId,
        notificationDeliveries.alertId,
        notificationDeliveries.event,
      ],
      set: {
        attempts: sql`${notificationDeliveries.attempts} + 1`,
        // A delivered notification stays delivered, whatever a late duplicate attempt says.
        state: sql`case when ${notificationDeliveries.state} = 'delivered' then 'delivered' else ${outcome.state} end`,
        lastStatus: outcome.status,
        lastError: outcome.error,
        deliveredAt: sql`coalesce(${notificationDeliveries.deliveredAt}, ${outcome.state === 'delivered' ? now : null})`,
      },
    })
    .returning();
  return row!;
}

export async function deliveryState(
  ctx: RegistryContext,
  key: { webhookId: string; alertId: string; event: NotificationEvent },
): Promise<NotificationDelivery | undefined> {
  const [row] = await ctx.db
    .select()
    .from(notificationDeliveries)
    .where(
      and(
        eq(notificationDeliveries.projectId, ctx.projectId),
        eq(notificationDeliveries.webhookId, key.webhookId),
        eq(notificationDeliveries.alertId, key.alertId),
        eq(notificationDeliveries.event, key.event),
      ),
    );
  return row;
}

export async function listDeliveries(ctx: RegistryContext, alertId: string): Promise<DeliveryView[]> {
  const rows = await ctx.db
    .select({ delivery: notificationDeliveries, webhook: notificationWebhooks.name })
    .from(notificationDeliveries)
    .innerJoin(notificationWebhooks, eq(notificationWebhooks.id, notificationDeliveries.webhookId))
    .where(
      and(eq(notificationDeliveries.projectId, ctx.projectId), eq(notificationDeliveries.alertId, alertId)),
    )
    .orderBy(asc(notificationDeliveries.createdAt));
  return rows.map(({ delivery, webhook }) => ({
    id: delivery.id,
    webhook,
    alertId: delivery.alertId,
    event: delivery.event,
    state: delivery.state,
    attempts: delivery.attempts,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    updatedAt: delivery.updatedAt.toISOString(),
  }));
}

/** A refusal the receiver will repeat (a 4xx other than timeout and rate limit): retrying won't help. */
export class PermanentDeliveryError extends ShepherdError {}

/**
 * Posts one notification and records the attempt. A 2xx is delivered; a 408, 429, 5xx or network
 * failure throws a plain Error (to be retried); another 4xx throws `PermanentDeliveryError`.
 */
export async function postNotification(
  ctx: RegistryContext,
  input: {
    webhook: NotificationWebhook;
    alert: Alert;
    event: NotificationEvent;
    timeoutMs?: number;
    links?: NotificationLinks;
  },
): Promise<NotificationDelivery> {
  const key = { webhookId: input.webhook.id, alertId: input.alert.id, event: input.event };
  const body = JSON.stringify(notificationBody(input.webhook, input.alert, input.event, input.links));
  let status: number | null = null;
  let error: string | null = null;
  try {
    const response = await fetch(input.webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'shepherd-alerts/1' },
      body,
      signal: AbortSignal.timeout(input.timeoutMs ?? 10_000),
      redirect: 'error',
    });
    status = response.status;
    // Read (and discard) the body so the connection is released.
    const text = await response.text().catch(() => '');
    if (!response.ok) error = `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  if (error === null) return recordDeliveryAttempt(ctx, key, { state: 'delivered', status, error: null });
  const permanent = status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429;
  await recordDeliveryAttempt(ctx, key, { state: permanent ? 'failed' : 'pending', status, error });
  const message = `webhook ${input.webhook.name} (${input.webhook.kind}) refused ${input.event} of alert ${input.alert.id}: ${error}`;
  if (permanent) throw new PermanentDeliveryError('unprocessable', message);
  throw new Error(message);
}

/** After the retries ran out: the delivery is `failed`, so the lost page is visible. */
export async function markDeliveryFailed(
  ctx: RegistryContext,
  key: { webhookId: string; alertId: string; event: NotificationEvent },
  error: string,
): Promise<void> {
  await ctx.db
    .update(notificationDeliveries)
    .set({ state: 'failed', lastError: error })
    .where(
      and(
        eq(notificationDeliveries.projectId, ctx.projectId),
        eq(notificationDeliveries.webhookId, key.webhookId),
        eq(notificationDeliveries.alertId, key.alertId),
        eq(notificationDeliveries.event, key.event),
        sql`${notificationDeliveries.state} <> 'delivered'`,
      ),
    );
}
