import { z } from 'zod';

/** Alerts on-call sees: one per dedup key while it is open, whatever fires it again meanwhile. */
export const alertSources = ['drift', 'slo', 'parity', 'pipeline', 'rollout'] as const;
export const alertSeverities = ['info', 'warning', 'critical'] as const;
export const alertStates = ['firing', 'acknowledged', 'resolved'] as const;
export type AlertSource = (typeof alertSources)[number];
export type AlertSeverity = (typeof alertSeverities)[number];
export type AlertState = (typeof alertStates)[number];

/** Runbooks live in docs/runbooks; every alert kind names one. */
export const runbooks = {
  drift: 'docs/runbooks/drift-alert.md',
  rollout_failed: 'docs/runbooks/failed-rollout.md',
  rollback: 'docs/runbooks/failed-rollout.md',
  slo_burn: 'docs/runbooks/slo-burn.md',
  parity: 'docs/runbooks/consumer-lag.md',
  dlq_growth: 'docs/runbooks/dlq-growth.md',
  stuck_workflow: 'docs/runbooks/stuck-workflow.md',
} as const;
export type AlertKind = keyof typeof runbooks;

export const alertView = z.object({
  id: z.string(),
  source: z.enum(alertSources),
  kind: z.string(),
  severity: z.enum(alertSeverities),
  state: z.enum(alertStates),
  dedupKey: z.string(),
  subject: z.object({ kind: z.string(), id: z.string() }),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  runbook: z.string(),
  /** How many times the signal fired while this alert was open. */
  occurrences: z.number().int(),
  firedAt: z.string(),
  lastFiredAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
});
export type AlertView = z.infer<typeof alertView>;
