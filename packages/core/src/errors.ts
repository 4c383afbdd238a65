/**
 * One error type for the whole platform. Codes map to HTTP statuses so the API can
 * answer `{ error: { code, message, requestId } }` without each route deciding.
 */
export const errorStatus = {
  bad_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  upstream_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/**
 * The status logged and counted for a request whose caller went away before the answer (a client
 * timeout, a closed tab): nginx's "client closed request". Never sent: there is no one to send it to.
 */
export const clientClosedStatus = 499;

export class ShepherdError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShepherdError';
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function isShepherdError(err: unknown): err is ShepherdError {
  return err instanceof ShepherdError;
}
