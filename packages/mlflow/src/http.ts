import type { z } from 'zod';
import { MlflowError, MlflowUnreachableError, errorCodeForStatus, type UnreachableReason } from './errors.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface MlflowHttpOptions {
  /** e.g. http://127.0.0.1:5500; a path prefix (an MLflow behind a proxy at /mlflow) is kept. */
  trackingUri: string;
  /** Whole-request budget, reading the body included. */
  timeoutMs?: number;
  /** MLflow's basic-auth app or a token-checking proxy in front of it. */
  auth?: { token: string } | { username: string; password: string };
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface MlflowCall<S extends z.ZodType> {
  method: Method;
  /** Path under /api/2.0/mlflow/, e.g. `runs/create`. */
  endpoint: string;
  /** Arrays become repeated parameters, which is how MLflow reads `order_by` on GET endpoints. */
  query?: Record<string, string | number | readonly string[] | undefined>;
  body?: unknown;
  response: S;
}

/** One request, one timeout, one error vocabulary: everything MLflow-specific lives in client.ts. */
export class MlflowHttp {
  readonly trackingUri: string;
  readonly timeoutMs: number;
  private readonly apiBase: URL;
  private readonly authorization: string | undefined;

  constructor(options: MlflowHttpOptions) {
    let base: URL;
    try {
      base = new URL(options.trackingUri);
    } catch {
      throw new TypeError(`MLflow tracking URI is not a URL: ${JSON.stringify(options.trackingUri)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`MLflow tracking URI must be http(s), got ${options.trackingUri}`);
    }
    // fetch refuses URLs with credentials, and error messages must not carry them: move them to a header.
    const userinfo =
      base.username === ''
        ? undefined
        : { username: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
    base.username = '';
    base.password = '';
    base.search = '';
    base.hash = '';
    this.trackingUri = base.href.replace(/\/+$/, '');
    // Resolving `api/2.0/...` against a base only keeps the base's path if it ends in a slash.
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/api/2.0/mlflow/`;
    this.apiBase = base;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.authorization = authorizationHeader(options.auth ?? userinfo);
  }

  async call<S extends z.ZodType>(call: MlflowCall<S>): Promise<z.output<S>> {
    const url = new URL(call.endpoint, this.apiBase);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value === undefined) continue;
      if (typeof value === 'string' || typeof value === 'number') url.searchParams.set(key, String(value));
      else for (const item of value) url.searchParams.append(key, item);
    }
    const urlForErrors = `${url.origin}${url.pathname}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (this.authorization !== undefined) headers.authorization = this.authorization;

    const timeout = AbortSignal.timeout(this.timeoutMs);
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body, encodeNonFinite),
        signal: timeout,
      });
      status = response.status;
      // Inside the try: a server that sends headers and then stalls must hit the same timeout.
      text = await response.text();
    } catch (err) {
      const reason: UnreachableReason = timeout.aborted ? 'timeout' : classifyNetworkError(err);
      throw new MlflowUnreachableError({
        trackingUri: this.trackingUri,
        reason,
        method: call.method,
        url: urlForErrors,
        detail: reason === 'timeout' ? `no complete answer within ${this.timeoutMs} ms` : describe(err),
        cause: err,
      });
    }

    const json = parseJson(text);
    if (status < 200 || status >= 300) {
      throw errorFromBody(status, json, text, call.method, urlForErrors);
    }
    // A 200 that is not JSON (a login page, a proxy's HTML) must not pass for an empty success.
    if (json === undefined && text.trim() !== '') {
      throw new MlflowError({
        errorCode: 'UNEXPECTED_RESPONSE',
        httpStatus: status,
        message: `MLflow answered ${call.method} ${call.endpoint} with a body that is not JSON: ${snippet(text)}`,
        method: call.method,
        url: urlForErrors,
      });
    }
    const parsed = call.response.safeParse(json ?? {});
    if (!parsed.success) {
      throw new MlflowError({
        errorCode: 'UNEXPECTED_RESPONSE',
        httpStatus: status,
        message: `MLflow answered ${call.method} ${call.endpoint} with an unexpected body: ${summarizeIssues(parsed.error)}`,
        method: call.method,
        url: urlForErrors,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }
  /**
   * Raw bytes from a path under the tracking URI (artifact downloads are not JSON). Errors use
   * the same vocabulary as `call`; the timeout covers the whole body.
   */
  async download(path: string, query: Record<string, string>, timeoutMs = 120_000): Promise<Buffer> {
    const url = new URL(`${this.trackingUri}/${path.replace(/^\/+/, '')}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const urlForErrors = `${url.origin}${url.pathname}`;
    const headers: Record<string, string> = {};
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let bytes: Buffer;
    try {
      response = await fetch(url, { headers, signal: timeout });
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (err) {
      const reason: UnreachableReason = timeout.aborted ? 'timeout' : classifyNetworkError(err);
      throw new MlflowUnreachableError({
        trackingUri: this.trackingUri,
        reason,
        method: 'GET',
        url: urlForErrors,
        detail: reason === 'timeout' ? `no complete answer within ${timeoutMs} ms` : describe(err),
        cause: err,
      });
    }
    if (!response.ok) {
      const text = bytes.toString('utf8');
      throw errorFromBody(response.status, parseJson(text), text, 'GET', urlForErrors);
    }
    return bytes;
  }
}

function authorizationHeader(auth: MlflowHttpOptions['auth']): string | undefined {
  if (auth === undefined) return undefined;
  if ('token' in auth) return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/**
 * JSON has no NaN or Infinity (JSON.stringify turns them into null, which MLflow rejects as a
 * missing value), but MLflow's protobuf JSON parser accepts them as strings in double fields.
 */
function encodeNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    if (Number.isNaN(value)) return 'NaN';
    return value > 0 ? 'Infinity' : '-Infinity';
  }
  return value;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorFromBody(
  status: number,
  json: unknown,
  text: string,
  method: string,
  url: string,
): MlflowError {
  const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const errorCode = typeof body.error_code === 'string' ? body.error_code : errorCodeForStatus(status);
  const message =
    typeof body.message === 'string' && body.message !== ''
      ? body.message
      : `HTTP ${status}: ${snippet(text)}`;
  return new MlflowError({ errorCode, httpStatus: status, message, method, url });
}

/** Non-JSON error bodies are HTML or plain text from layers in front of MLflow's handlers. */
function snippet(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (plain === '') return '(empty body)';
  return plain.length > 300 ? `${plain.slice(0, 300)}…` : plain;
}

function summarizeIssues(error: z.ZodError): string {
  const shown = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  const more = error.issues.length > 3 ? ` (+${error.issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}

/** undici wraps the socket error (sometimes an AggregateError, one per address tried) in `cause`. */
function classifyNetworkError(err: unknown): UnreachableReason {
  const codes = new Set<string>();
  collectCodes(err, codes, 0);
  if (codes.has('ECONNREFUSED')) return 'connection_refused';
  if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')) return 'dns';
  if (codes.has('ECONNRESET') || codes.has('EPIPE') || codes.has('UND_ERR_SOCKET')) return 'connection_reset';
  return 'network';
}

function collectCodes(err: unknown, codes: Set<string>, depth: number): void {
  if (depth > 5 || typeof err !== 'object' || err === null) return;
  const { code, cause, errors } = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.add(code);
  collectCodes(cause, codes, depth + 1);
  if (Array.isArray(errors)) for (const inner of errors) collectCodes(inner, codes, depth + 1);
}

function describe(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if (current.message !== '' && !parts.includes(current.message)) parts.push(current.message);
    current = current.cause;
  }
  return parts.join(': ') || String(err);
}
