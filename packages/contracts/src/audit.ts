import { z } from 'zod';

/** An audit event as the API answers it (`GET …/audit`), with its place in the hash chain. */
export const auditEventView = z.object({
  id: z.number(),
  actor: z.string(),
  action: z.string(),
  subjectKind: z.string(),
  subjectId: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  requestId: z.string().nullable(),
  createdAt: z.string(),
  prevHash: z.string().nullable(),
  hash: z.string().nullable(),
});
export type AuditEventView = z.infer<typeof auditEventView>;

/** `GET …/audit/verify`: whether the hash chain holds, and where it first breaks if not. */
export const auditVerification = z.object({
  ok: z.boolean(),
  checked: z.number(),
  brokenAt: z.number().optional(),
  reason: z.string().optional(),
});
export type AuditVerification = z.infer<typeof auditVerification>;
