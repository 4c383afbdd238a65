import { z } from 'zod';
import { auditEventView, auditVerification, type AuditEventView } from '@shepherd/contracts/audit';
import { slug } from '@shepherd/contracts/registry';
import type { AuditEvent } from '@shepherd/db/schema';
import { listAudit, verifyAuditChain } from '@shepherd/registry/audit';
import { route, type RouteSpec } from '../route.ts';
import type { RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });

const view = (event: AuditEvent): AuditEventView => ({
  id: event.id,
  actor: event.actor,
  action: event.action,
  subjectKind: event.subjectKind,
  subjectId: event.subjectId,
  before: event.before,
  after: event.after,
  requestId: event.requestId,
  createdAt: event.createdAt.toISOString(),
  prevHash: event.prevHash,
  hash: event.hash,
});

export function auditRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/audit',
      operationId: 'listAudit',
      permission: 'admin',
      summary: 'Audit events, newest first (page with beforeId)',
      tag: 'audit',
      params: projectParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        beforeId: z.coerce.number().int().positive().optional(),
      }),
      response: z.object({ events: z.array(auditEventView) }),
      handler: async ({ query, principal }) => ({
        events: (await listAudit(deps.db, principal.project.id, query)).map(view),
      }),
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/audit/verify',
      operationId: 'verifyAudit',
      permission: 'admin',
      summary:
        "Recompute the project's audit hash chain; names the first entry that was edited, removed or inserted",
      tag: 'audit',
      params: projectParams,
      response: auditVerification,
      handler: async ({ principal }) => verifyAuditChain(deps.db, principal.project.id),
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/audit/export',
      operationId: 'exportAudit',
      permission: 'admin',
      summary: 'The whole audit log, oldest first, with its chain verification, for archiving elsewhere',
      tag: 'audit',
      params: projectParams,
      response: z.object({
        exportedAt: z.string(),
        verification: auditVerification,
        events: z.array(auditEventView),
      }),
      handler: async ({ principal }) => {
        const events = await listAudit(deps.db, principal.project.id, { limit: 1_000_000 });
        return {
          exportedAt: new Date().toISOString(),
          verification: await verifyAuditChain(deps.db, principal.project.id),
          events: events.reverse().map(view),
        };
      },
    }),
  ];
}
