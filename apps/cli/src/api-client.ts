import { errorBody } from '@shepherd/contracts/health';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The control plane over HTTP; every failure becomes one line naming what went wrong. */
export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly project: string,
    private readonly token?: string,
  ) {}

  async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    const url = new URL(`/v1/projects/${encodeURIComponent(this.project)}${path}`, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiError(0, 'unreachable', `cannot reach the Shepherd API at ${this.baseUrl} (${code})`);
    }
    const text = await response.text();
    const json: unknown = text === '' ? undefined : JSON.parse(text);
    if (!response.ok) {
      const parsed = errorBody.safeParse(json);
      if (parsed.success)
        throw new ApiError(response.status, parsed.data.error.code, parsed.data.error.message);
      throw new ApiError(response.status, 'http_error', `HTTP ${response.status}: ${text.slice(0, 200)}`);
    }
    return json as T;
  }
}
