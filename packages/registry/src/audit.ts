import { createHash } from 'node:crypto';
import { and, asc, desc, eq, isNotNull, sql } from 'drizzle-orm';
import { auditEvents, type AuditEvent } from '@shepherd/db/schema';
import type { Database } from '@shepherd/db/client';
import type { RegistryContext } from './context.ts';

export interface AuditEntry {
  action: string;
  subjectKind: string;
  subjectId: string;
  before?: unknown;
  after?: unknown;
}

const genesis = '0'.repeat(64);

/** JSON with sorted keys, after a JSON round trip: what jsonb gives back hashes the same as what went in. */
function canonical(value: unknown): string {
  const plain: unknown = value === undefined ? null : JSON.parse(JSON.stringify(value));
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sort(plain));
}

type Hashed = Pick<
  AuditEvent,
  | 'projectId'
  | 'actor'
  | 'action'
  | 'subjectKind'
  | 'subjectId'
  | 'before'
  | 'after'
  | 'requestId'
  | 'createdAt'
>;

export function entryHash(prevHash: string, entry: Hashed): string {
  const content = canonical({
    projectId: entry.projectId,
    actor: entry.actor,
    action: entry.action,
    subjectKind: entry.subjectKind,
    subjectId: entry.subjectId,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: entry.requestId ?? null,
    createdAt: entry.createdAt.toISOString(),
  });
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/**
 * Written in the same transaction as the change it describes, so neither exists without the other.
 * Entries of a project form a hash chain; a transaction-scoped advisory lock makes appends to one
 * project's chain take turns, so each entry links to the one committed before it.
 */
export async function recordAudit(tx: Database, ctx: RegistryContext, entry: AuditEntry): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`shepherd:audit:${ctx.projectId}`}))`);
  const [last] = await tx
    .select({ hash: auditEvents.hash })
    .from(auditEvents)
    .where(and(eq(auditEvents.projectId, ctx.projectId), isNotNull(auditEvents.hash)))
    .orderBy(desc(auditEvents.id))
    .limit(1);
  const prevHash = last?.hash ?? genesis;
  const row: Hashed = {
    projectId: ctx.projectId,
    actor: ctx.actor,
    action: entry.action,
    subjectKind: entry.subjectKind,
    subjectId: entry.subjectId,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: ctx.requestId ?? null,
    createdAt: new Date(),
  };
  await tx.insert(auditEvents).values({ ...row, prevHash, hash: entryHash(prevHash, row) });
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** The first entry whose content or link does not match the chain. */
  brokenAt?: number;
  reason?: string;
}

/**
 * Recomputes a project's chain from the start: an edited, inserted or deleted entry shows. Every
 * entry counts: one without a hash is outside the chain, and nothing vouches for it, so an entry
 * slipped in with the hash columns left empty shows too.
 */
export async function verifyAuditChain(db: Database, projectId: string): Promise<ChainVerification> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.projectId, projectId))
    .orderBy(asc(auditEvents.id));
  let prev = genesis;
  for (const [index, row] of rows.entries()) {
    if (row.hash === null) {
      return {
        ok: false,
        checked: index,
        brokenAt: row.id,
        reason: 'entry is outside the hash chain (it was written without a hash)',
      };
    }
    if (row.prevHash !== prev) {
      return {
        ok: false,
        checked: index,
        brokenAt: row.id,
        reason: 'link to the previous entry is broken (an entry was removed or inserted)',
      };
    }
    if (entryHash(prev, row) !== row.hash) {
      return {
        ok: false,
        checked: index,
        brokenAt: row.id,
        reason: 'content does not match its hash (the entry was edited)',
      };
    }
    prev = row.hash;
  }
  return { ok: true, checked: rows.length };
}

export async function listAudit(
  db: Database,
  projectId: string,
  options: { limit: number; beforeId?: number | undefined },
): Promise<AuditEvent[]> {
  const conditions = [eq(auditEvents.projectId, projectId)];
  if (options.beforeId !== undefined) conditions.push(sql`${auditEvents.id} < ${options.beforeId}`);
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(options.limit);
}
