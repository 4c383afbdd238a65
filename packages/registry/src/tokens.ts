import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { apiTokens, projects, type ApiToken, type Project, type Role } from '@shepherd/db/schema';
import { recordAudit } from './audit.ts';

export const tokenPattern = /^shp_[A-Za-z0-9_-]{32,}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  project: Project;
}

export interface NewToken {
  projectId: string;
  name: string;
  role: Role;
  createdBy: string;
  expiresAt?: Date | null;
  /** Supplied by operators for bootstrap; otherwise generated. */
  token?: string;
}

/** Returns the token itself once; only its hash is stored. */
export async function createToken(
  db: Database,
  input: NewToken,
): Promise<{ token: string; record: ApiToken }> {
  const token = input.token ?? `shp_${randomBytes(32).toString('base64url')}`;
  if (!tokenPattern.test(token))
    throw new ShepherdError('bad_request', 'a token must look like shp_ followed by at least 32 characters');
  const record = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiTokens)
      .values({
        projectId: input.projectId,
        name: input.name,
        role: input.role,
        tokenHash: hashToken(token),
        tokenPrefix: token.slice(0, 10),
        createdBy: input.createdBy,
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    await recordAudit(
      tx,
      { db: tx, projectId: input.projectId, actor: input.createdBy },
      {
        action: 'token.created',
        subjectKind: 'api_token',
        subjectId: row!.id,
        after: { name: row!.name, role: row!.role, prefix: row!.tokenPrefix, expiresAt: row!.expiresAt },
      },
    );
    return row!;
  });
  return { token, record };
}

/** An operator-provided token (bootstrap) is registered once; later starts find it by hash. */
export async function ensureToken(db: Database, input: NewToken & { token: string }): Promise<void> {
  const [existing] = await db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, hashToken(input.token)));
  if (!existing) await createToken(db, input);
}

/** The principal behind a bearer token, or undefined when it is unknown, revoked or expired. */
export async function authenticate(db: Database, token: string): Promise<Principal | undefined> {
  if (!tokenPattern.test(token)) return undefined;
  const [row] = await db
    .select({ token: apiTokens, project: projects })
    .from(apiTokens)
    .innerJoin(projects, eq(projects.id, apiTokens.projectId))
    .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
  if (!row) return undefined;
  if (row.token.expiresAt && row.token.expiresAt.getTime() <= Date.now()) return undefined;
  return { tokenId: row.token.id, name: row.token.name, role: row.token.role, project: row.project };
}

export async function listTokens(db: Database, projectId: string): Promise<ApiToken[]> {
  return db
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.projectId, projectId))
    .orderBy(desc(apiTokens.createdAt));
}

export async function revokeToken(
  db: Database,
  projectId: string,
  id: string,
  actor: string,
): Promise<ApiToken> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.projectId, projectId), eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
      .returning();
    if (!row) throw new ShepherdError('not_found', `no active token ${id}`);
    await recordAudit(
      tx,
      { db: tx, projectId, actor },
      {
        action: 'token.revoked',
        subjectKind: 'api_token',
        subjectId: id,
        before: { name: row.name, role: row.role, prefix: row.tokenPrefix },
      },
    );
    return row;
  });
}
