import { z } from 'zod';
import { featureViewMetrics } from '@shepherd/contracts/features';
import { alertView, type AlertView } from '@shepherd/contracts/alerts';
import {
  endpointConfig,
  rolloutView,
  type EndpointConfig,
  type RolloutView,
} from '@shepherd/contracts/serving';
import {
  compareView,
  lineageView,
  modelView,
  trainingRunView,
  versionView,
  type LineageView,
  type ModelView,
  type TrainingRunView,
  type VersionView,
} from '@shepherd/contracts/registry';

/**
 * Every call the dashboard makes to the control plane, in one place: paths, methods and the schema
 * each answer is checked against. Routes still being built (endpoints, rollouts, alerts, drift,
 * events) are declared here too; when one answers "no route", pages show that it is not there yet.
 */

const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional() }),
});

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The API does not have this route (yet): a 404 from its router rather than from a handler. */
  get missingRoute(): boolean {
    return this.status === 404 && this.message.startsWith('no route for');
  }
}

export const isMissingRoute = (err: unknown): boolean => err instanceof ApiError && err.missingRoute;

// ---- serving: endpoints, SLOs, rollouts, alerts ----

/** Lists answer as a bare array or as `{ <key>: [...] }`; both are accepted so either style works. */
const listOf = <S extends z.ZodType>(item: S, key: string) =>
  z.union([
    z.array(item),
    z.object({ [key]: z.array(item) }).transform((body) => body[key] as z.output<S>[]),
  ]);

const nullableNumber = z.number().nullable();
const statsSummary = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: nullableNumber,
  availability: nullableNumber,
  p50Ms: nullableNumber,
  p95Ms: nullableNumber,
  p99Ms: nullableNumber,
  throughputPerSecond: z.number(),
});

/** `GET …/endpoints/{name}/slo`: objectives, sliding windows with burn rates, the last minutes per version. */
export const sloView = z.object({
  endpoint: z.string(),
  at: z.string(),
  objectives: z.object({ latencyP99Ms: z.number(), errorRate: z.number(), availability: z.number() }),
  fastBurn: z.boolean(),
  windows: z.array(
    statsSummary.extend({
      name: z.string(),
      seconds: z.number(),
      burnRates: z.object({ errors: nullableNumber, availability: nullableNumber, latency: nullableNumber }),
      met: z.object({ errors: z.boolean(), availability: z.boolean(), latencyP99: z.boolean() }),
    }),
  ),
  versions: z.array(statsSummary.extend({ versionId: z.string(), version: z.number(), role: z.string() })),
});
export type SloView = z.infer<typeof sloView>;
export type { AlertView, EndpointConfig, RolloutView };

const histogramView = z.looseObject({
  edges: z.array(z.number()).optional(),
  counts: z.array(z.number()).optional(),
});

export const driftView = z.looseObject({
  endpoint: z.string().optional(),
  features: z
    .array(
      z.looseObject({
        name: z.string(),
        score: z.number().nullable().optional(),
        threshold: z.number().nullable().optional(),
        drifted: z.boolean().optional(),
        history: z.array(z.object({ at: z.string(), score: z.number() })).optional(),
        reference: histogramView.optional(),
        current: histogramView.optional(),
      }),
    )
    .default([]),
});
export type DriftView = z.infer<typeof driftView>;

// ---- views of existing routes that have no shared schema ----

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
});
export type AuditEventView = z.infer<typeof auditEventView>;

export const auditVerification = z.object({
  ok: z.boolean(),
  checked: z.number(),
  brokenAt: z.number().optional(),
  reason: z.string().optional(),
});

export const featureViewView = z.object({
  name: z.string(),
  version: z.number(),
  entityKey: z.string(),
  sourceTopic: z.string(),
  ttlSeconds: z.number(),
  features: z.array(z.object({ name: z.string(), type: z.string() })),
  metrics: featureViewMetrics.nullable(),
});
export type FeatureViewView = z.infer<typeof featureViewView>;

export type { LineageView, ModelView, TrainingRunView, VersionView };
export type LineageKind = LineageView['root']['kind'];
export type RolloutAction = 'approve' | 'pause' | 'resume' | 'abort' | 'promote';
export type AlertAction = 'ack' | 'resolve';

export interface Session {
  token: string;
  project: string;
}

type Method = 'GET' | 'POST';

export function createApi(baseUrl: string, session: Session) {
  const project = `/v1/projects/${encodeURIComponent(session.project)}`;
  const e = encodeURIComponent;

  async function call<S extends z.ZodType>(
    method: Method,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${session.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `cannot reach the API: ${(err as Error).message}`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(
        response.status,
        'not_json',
        `${method} ${path} answered ${response.status}, not JSON`,
      );
    }
    if (!response.ok) {
      const parsed = errorBody.safeParse(json);
      if (parsed.success) {
        const { code, message, requestId } = parsed.data.error;
        throw new ApiError(response.status, code, message, requestId);
      }
      throw new ApiError(response.status, 'http_error', `${method} ${path} answered ${response.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new ApiError(
        response.status,
        'unexpected_response',
        `${method} ${path} answered in an unexpected shape (${issues.join('; ')})`,
      );
    }
    return parsed.data;
  }

  const get = <S extends z.ZodType>(path: string, schema: S) => call('GET', path, schema);
  const post = <S extends z.ZodType>(path: string, schema: S, body: unknown = {}) =>
    call('POST', path, schema, body);
  const model = (name: string) => `${project}/models/${e(name)}`;

  return {
    project: session.project,

    listModels: () => get(`${project}/models`, z.object({ models: z.array(modelView) })),
    getModel: (name: string) => get(model(name), modelView),
    listVersions: (name: string) =>
      get(`${model(name)}/versions`, z.object({ versions: z.array(versionView) })),
    getVersion: (name: string, version: number) => get(`${model(name)}/versions/${version}`, versionView),
    listTrainings: (name: string) =>
      get(`${model(name)}/trainings`, z.object({ trainings: z.array(trainingRunView) })),
    compare: (name: string, base: number, candidate: number) =>
      get(`${model(name)}/compare?base=${base}&candidate=${candidate}`, compareView),
    lineage: (kind: LineageKind, id: string, direction: 'upstream' | 'downstream', depth = 10) =>
      get(`${project}/lineage/${e(kind)}/${e(id)}?direction=${direction}&depth=${depth}`, lineageView),

    featureViews: () => get(`${project}/feature-views`, z.object({ views: z.array(featureViewView) })),

    audit: (options: { limit?: number; beforeId?: number } = {}) => {
      const query = new URLSearchParams({ limit: String(options.limit ?? 50) });
      if (options.beforeId !== undefined) query.set('beforeId', String(options.beforeId));
      return get(`${project}/audit?${query}`, z.object({ events: z.array(auditEventView) }));
    },
    verifyAudit: () => get(`${project}/audit/verify`, auditVerification),

    listEndpoints: () => get(`${project}/endpoints`, listOf(endpointConfig, 'endpoints')),
    getEndpoint: (name: string) => get(`${project}/endpoints/${e(name)}`, endpointConfig),
    endpointSlo: (name: string) => get(`${project}/endpoints/${e(name)}/slo`, sloView),
    rollback: (name: string, reason: string) =>
      post(`${project}/endpoints/${e(name)}/rollback`, z.unknown(), {
        requestId: `dashboard-${crypto.randomUUID()}`,
        reason,
      }),
    listRollouts: (options: { active?: boolean } = {}) =>
      get(`${project}/rollouts${options.active ? '?active=true' : ''}`, listOf(rolloutView, 'rollouts')),
    getRollout: (id: string) => get(`${project}/rollouts/${e(id)}`, rolloutView),
    rolloutAction: (id: string, action: RolloutAction, reason?: string) =>
      post(`${project}/rollouts/${e(id)}/${action}`, rolloutView, reason ? { reason } : {}),
    listAlerts: () => get(`${project}/alerts`, listOf(alertView, 'alerts')),
    alertAction: (id: string, action: AlertAction) =>
      post(`${project}/alerts/${e(id)}/${action}`, z.unknown()),
    drift: (endpoint: string) => get(`${project}/drift/${e(endpoint)}`, driftView),
  };
}

export type Api = ReturnType<typeof createApi>;
