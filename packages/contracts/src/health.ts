import { z } from 'zod';

export const checkResult = z.object({
  name: z.string(),
  ok: z.boolean(),
  latencyMs: z.number().nonnegative(),
  detail: z.string().optional(),
});

/** GET /readyz: 200 when every dependency answered, 503 otherwise, with one entry per dependency. */
export const readinessResponse = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.array(checkResult),
});

export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    details: z.unknown().optional(),
  }),
});

export type CheckResult = z.infer<typeof checkResult>;
export type ReadinessResponse = z.infer<typeof readinessResponse>;
export type ErrorBody = z.infer<typeof errorBody>;
