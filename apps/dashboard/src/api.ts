import { z } from 'zod';
import { auditEventView, auditVerification, type AuditEventView } from '@shepherd/contracts/audit';
import {
  featureViewSummary,
  parityMonitorView,
  parityReport,
  type FeatureViewSummary,
  type ParityMonitorView,
  type ParityReport,
} from '@shepherd/contracts/features';
import { alertView, type AlertState, type AlertView } from '@shepherd/contracts/alerts';
import {
  deliveryView,
  driftMonitorView,
  driftReportView,
  featureHistogramView,
  type DeliveryView,
  type DriftMonitorView,
  type DriftReportView,
  type FeatureHistogramView,
} from '@shepherd/contracts/drift';
import {
  endpointConfig,
  rolloutView,
  sloSeriesView,
  sloView,
  type EndpointConfig,
  type RolloutView,
  type SloSeriesPoint,
  type SloSeriesView,
  type SloView,
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
 * each answer is checked against. When a route answers "no route" (an older control plane), pages
 * show that it is not there yet instead of an error.
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

// The SLO views are the API's own schemas (@shepherd/contracts/serving).
export type { SloSeriesView, SloView };
export type SeriesPoint = SloSeriesPoint;

export type { AuditEventView, FeatureHistogramView, FeatureViewSummary, ParityMonitorView, ParityReport };
export type { AlertView, EndpointConfig, RolloutView };

export type { DeliveryView, DriftMonitorView, DriftReportView };

export type { LineageView, ModelView, TrainingRunView, VersionView };

const lineageNode = z.object({ kind: z.string(), id: z.string() });
/** `GET …/lineage/{kind}/{id}/edges`: one node's edges with what was recorded on them. */
export const lineageEdgesView = z.object({
  node: lineageNode,
  edges: z.array(
    z.object({
      from: lineageNode,
      to: lineageNode,
      relation: z.string(),
      metadata: z.record(z.string(), z.unknown()),
    }),
  ),
});
export type LineageEdgesView = z.infer<typeof lineageEdgesView>;

/** What an edge from Kafka offsets records: the topic and, per partition, offsets [from, to). */
export const offsetRangesMetadata = z.object({
  topic: z.string(),
  offsets: z.array(z.object({ partition: z.number(), from: z.string(), to: z.string() })),
  rows: z.number().optional(),
});
export type OffsetRangesMetadata = z.infer<typeof offsetRangesMetadata>;
export type LineageKind = LineageView['root']['kind'];
export type RolloutAction = 'approve' | 'pause' | 'resume' | 'abort' | 'promote';
export type AlertMove = 'ack' | 'resolve';
/** Remedies an alert's endpoint gets: both start a workflow and acknowledge the alert. */
export type AlertRemedy = 'rollback' | 'retrain';

export const roles = ['viewer', 'ml-engineer', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

/** What each role may do (the API's permission table, packages/registry permissions.ts). */
const rolePermissions: Record<Role, readonly ('read' | 'write' | 'approve' | 'admin')[]> = {
  viewer: ['read'],
  'ml-engineer': ['read', 'write'],
  approver: ['read', 'approve'],
  admin: ['read', 'write', 'approve', 'admin'],
};

/** Undefined when the role may; otherwise why not, for a disabled control's title. */
export const denied = (role: Role, permission: 'write' | 'approve' | 'admin'): string | undefined =>
  rolePermissions[role].includes(permission)
    ? undefined
    : `Your token's role (${role}) lacks the ${permission} permission`;

/** `GET /v1/whoami`: the token's project, role and name. */
export const whoamiView = z.object({
  project: z.object({ slug: z.string(), name: z.string() }),
  role: z.enum(roles),
  tokenName: z.string(),
});
export type Whoami = z.infer<typeof whoamiView>;

export interface Session {
  token: string;
  /** The project's slug, which API paths use. */
  project: string;
  projectName: string;
  role: Role;
  tokenName: string;
}

/** Signs in with a token alone: the token names its project. */
export async function whoami(baseUrl: string, token: string): Promise<Session> {
  const me = await createApi(baseUrl, {
    token,
    project: '',
    projectName: '',
    role: 'viewer',
    tokenName: '',
  }).whoami();
  return {
    token,
    project: me.project.slug,
    projectName: me.project.name,
    role: me.role,
    tokenName: me.tokenName,
  };
}

const remedyResult = z.object({ alert: alertView, action: z.string(), workflowId: z.string() });

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

    lineageEdges: (kind: LineageKind, id: string) =>
      get(`${project}/lineage/${e(kind)}/${e(id)}/edges`, lineageEdgesView),

    featureViews: () => get(`${project}/feature-views`, z.object({ views: z.array(featureViewSummary) })),
    parityReports: (view: string, options: { version?: number; limit?: number } = {}) => {
      const query = new URLSearchParams({ limit: String(options.limit ?? 1) });
      if (options.version !== undefined) query.set('version', String(options.version));
      return get(
        `${project}/feature-views/${e(view)}/parity-checks?${query}`,
        z.object({ reports: z.array(parityReport) }),
      );
    },
    runParityCheck: (view: string, version?: number) =>
      post(`${project}/feature-views/${e(view)}/parity-checks`, parityReport, version ? { version } : {}),
    /** The view's parity monitor, or null when it never had one. */
    parityMonitor: async (view: string): Promise<ParityMonitorView | null> => {
      try {
        return await get(`${project}/feature-views/${e(view)}/parity-monitor`, parityMonitorView);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && !err.missingRoute) return null;
        throw err;
      }
    },
    startParityMonitor: (view: string, everySeconds: number) =>
      post(`${project}/feature-views/${e(view)}/parity-monitor`, parityMonitorView, { everySeconds }),
    stopParityMonitor: (view: string) =>
      post(`${project}/feature-views/${e(view)}/parity-monitor/stop`, parityMonitorView),

    audit: (options: { limit?: number; beforeId?: number } = {}) => {
      const query = new URLSearchParams({ limit: String(options.limit ?? 50) });
      if (options.beforeId !== undefined) query.set('beforeId', String(options.beforeId));
      return get(`${project}/audit?${query}`, z.object({ events: z.array(auditEventView) }));
    },
    verifyAudit: () => get(`${project}/audit/verify`, auditVerification),

    listEndpoints: () => get(`${project}/endpoints`, listOf(endpointConfig, 'endpoints')),
    getEndpoint: (name: string) => get(`${project}/endpoints/${e(name)}`, endpointConfig),
    endpointSlo: (name: string) => get(`${project}/endpoints/${e(name)}/slo`, sloView),
    sloSeries: (name: string, window: string, step?: string) =>
      get(
        `${project}/endpoints/${e(name)}/slo/series?${new URLSearchParams({ window, ...(step ? { step } : {}) })}`,
        sloSeriesView,
      ),
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
    whoami: () => get('/v1/whoami', whoamiView),

    /** Alerts in any of `states` (all when empty), newest first. */
    listAlerts: (states: readonly AlertState[] = []) => {
      const query = new URLSearchParams(states.map((state) => ['state', state]));
      return get(`${project}/alerts${states.length ? `?${query}` : ''}`, listOf(alertView, 'alerts'));
    },
    getAlert: (id: string) => get(`${project}/alerts/${e(id)}`, alertView),
    moveAlert: (id: string, move: AlertMove, note?: string) =>
      post(`${project}/alerts/${e(id)}/${move}`, alertView, note ? { note } : {}),
    alertRemedy: (id: string, remedy: AlertRemedy, reason?: string) =>
      post(`${project}/alerts/${e(id)}/${remedy}`, remedyResult, {
        requestId: `dashboard-${crypto.randomUUID()}`,
        ...(reason ? { reason } : {}),
      }),
    alertDeliveries: (id: string) =>
      get(`${project}/alerts/${e(id)}/deliveries`, z.object({ deliveries: z.array(deliveryView) })),

    driftReports: (endpoint: string, limit = 60) =>
      get(
        `${project}/endpoints/${e(endpoint)}/drift?limit=${limit}`,
        z.object({ endpoint: z.string(), reports: z.array(driftReportView) }),
      ),
    driftHistogram: (endpoint: string, feature: string, report?: string) =>
      get(
        `${project}/endpoints/${e(endpoint)}/drift/histogram?${new URLSearchParams({ feature, ...(report ? { report } : {}) })}`,
        featureHistogramView,
      ),
    driftMonitor: (endpoint: string) => get(`${project}/endpoints/${e(endpoint)}/monitor`, driftMonitorView),

    /** The event stream's URL; it is read by event-stream.ts, not through `call`. */
    eventsUrl: `${baseUrl}${project}/events`,
    token: session.token,
    session,
  };
}

export type Api = ReturnType<typeof createApi>;
