import { auditEvents } from '@shepherd/db/schema';
import type { Database } from '@shepherd/db/client';
import type { RegistryContext } from './context.ts';

export interface AuditEntry {
  action: string;
  subjectKind: string;
  subjectId: string;
  before?: unknown;
  after?: unknown;
}

/** Written in the same transaction as the change it describes, so neither exists without the other. */
export async function recordAudit(tx: Database, ctx: RegistryContext, entry: AuditEntry): Promise<void> {
  await tx.insert(auditEvents).values({
    projectId: ctx.projectId,
    actor: ctx.actor,
    action: entry.action,
    subjectKind: entry.subjectKind,
    subjectId: entry.subjectId,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: ctx.requestId ?? null,
  });
}
