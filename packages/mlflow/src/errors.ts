import { ShepherdError, type ErrorCode } from '@shepherd/core/errors';

/**
 * MLflow's `error_code` values we branch on. The server can send others (it is a protobuf enum
 * that grows), so `errorCode` stays an open string and these are only the names worth autocompleting.
 */
export type KnownMlflowErrorCode =
  | 'RESOURCE_ALREADY_EXISTS'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'INVALID_PARAMETER_VALUE'
  | 'INVALID_STATE'
  | 'BAD_REQUEST'
  | 'ENDPOINT_NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'REQUEST_LIMIT_EXCEEDED'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'INTERNAL_ERROR'
  // Not MLflow's: the server answered, but not with what its API promises (a proxy page, a
  // schema change). Kept apart so nobody mistakes it for the server's own verdict.
  | 'UNEXPECTED_RESPONSE';

export type MlflowErrorCode = KnownMlflowErrorCode | (string & {});

/**
 * Only the caller's own mistakes become 4xx for Shepherd's API. A 401/403 from MLflow means
 * Shepherd's credentials or host settings are wrong, which the API caller cannot fix.
 */
function shepherdCodeFor(errorCode: string, httpStatus: number): ErrorCode {
  switch (errorCode) {
    case 'RESOURCE_DOES_NOT_EXIST':
      return 'not_found';
    case 'RESOURCE_ALREADY_EXISTS':
      return 'conflict';
    case 'INVALID_PARAMETER_VALUE':
      return 'bad_request';
    case 'TEMPORARILY_UNAVAILABLE':
    case 'REQUEST_LIMIT_EXCEEDED':
    case 'UNEXPECTED_RESPONSE':
      return 'upstream_unavailable';
    default:
      return httpStatus >= 500 ? 'upstream_unavailable' : 'internal';
  }
}

/** The MLflow server answered with an error (or with something that is not its API). */
export class MlflowError extends ShepherdError {
  readonly errorCode: MlflowErrorCode;
  /** MLflow's HTTP status; `status` (inherited) is what Shepherd's own API would answer. */
  readonly httpStatus: number;
  readonly method: string;
  /** Request URL without query string, so tokens passed as query parameters never reach logs. */
  readonly url: string;

  constructor(init: {
    errorCode: MlflowErrorCode;
    httpStatus: number;
    message: string;
    method: string;
    url: string;
    cause?: unknown;
  }) {
    super(shepherdCodeFor(init.errorCode, init.httpStatus), init.message, {
      cause: init.cause,
      details: { errorCode: init.errorCode, httpStatus: init.httpStatus },
    });
    this.name = 'MlflowError';
    this.errorCode = init.errorCode;
    this.httpStatus = init.httpStatus;
    this.method = init.method;
    this.url = init.url;
  }
}

export type UnreachableReason = 'timeout' | 'connection_refused' | 'dns' | 'connection_reset' | 'network';

/**
 * No answer at all. Separate from MlflowError because the fix is operational (start MLflow, fix
 * MLFLOW_TRACKING_URI), not a change to the request, and because retrying may well succeed.
 */
export class MlflowUnreachableError extends ShepherdError {
  readonly trackingUri: string;
  readonly reason: UnreachableReason;
  readonly method: string;
  readonly url: string;

  constructor(init: {
    trackingUri: string;
    reason: UnreachableReason;
    method: string;
    url: string;
    detail: string;
    cause?: unknown;
  }) {
    super(
      'upstream_unavailable',
      `cannot reach MLflow at ${init.trackingUri} (${init.reason}: ${init.detail}) during ${init.method} ${init.url}`,
      { cause: init.cause },
    );
    this.name = 'MlflowUnreachableError';
    this.trackingUri = init.trackingUri;
    this.reason = init.reason;
    this.method = init.method;
    this.url = init.url;
  }
}

export function isMlflowError(err: unknown, errorCode?: MlflowErrorCode): err is MlflowError {
  return err instanceof MlflowError && (errorCode === undefined || err.errorCode === errorCode);
}

/**
 * Some failures come from in front of MLflow's handlers (the host-header check answers 403 in plain
 * text, Flask answers 405 in HTML), so a body without `error_code` still needs a code to branch on.
 */
export function errorCodeForStatus(httpStatus: number): KnownMlflowErrorCode {
  if (httpStatus === 400) return 'BAD_REQUEST';
  if (httpStatus === 401) return 'UNAUTHENTICATED';
  if (httpStatus === 403) return 'PERMISSION_DENIED';
  if (httpStatus === 404 || httpStatus === 405) return 'ENDPOINT_NOT_FOUND';
  if (httpStatus === 429) return 'REQUEST_LIMIT_EXCEEDED';
  if (httpStatus === 503) return 'TEMPORARILY_UNAVAILABLE';
  if (httpStatus >= 500) return 'INTERNAL_ERROR';
  return 'UNEXPECTED_RESPONSE';
}
