/**
 * drizzle wraps driver errors ("Failed query: ...") and keeps the driver's error as `cause`;
 * node-postgres and PGlite both put the SQLSTATE in `code`. These helpers look through the
 * wrapping so callers can turn constraint violations into 409s instead of 500s.
 */

export const sqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  restrictViolation: '23001',
} as const;

export interface PostgresErrorInfo {
  code: string;
  constraint: string | undefined;
  detail: string | undefined;
  message: string;
}

export function postgresError(err: unknown): PostgresErrorInfo | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const fields = current as Error & { code?: unknown; constraint?: unknown; detail?: unknown };
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) {
      return {
        code: fields.code,
        constraint: typeof fields.constraint === 'string' ? fields.constraint : undefined,
        detail: typeof fields.detail === 'string' ? fields.detail : undefined,
        message: current.message,
      };
    }
    current = current.cause;
  }
  return undefined;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const info = postgresError(err);
  return (
    info?.code === sqlState.uniqueViolation && (constraint === undefined || info.constraint === constraint)
  );
}

export function isForeignKeyViolation(err: unknown, constraint?: string): boolean {
  const info = postgresError(err);
  return (
    info?.code === sqlState.foreignKeyViolation &&
    (constraint === undefined || info.constraint === constraint)
  );
}
