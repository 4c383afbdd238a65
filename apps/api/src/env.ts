import { z } from 'zod';
import { artifactStoreEnv } from '@shepherd/artifacts/env';
import { taskQueues } from '@shepherd/contracts/training';
import { oidcAlgorithms } from './auth/oidc.ts';
import {
  csv,
  hostPort,
  payloadKeys,
  httpUrl,
  logLevel,
  parseEnv,
  port,
  postgresUrl,
} from '@shepherd/core/env';

const apiEnvFields = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(8080),
  LOG_LEVEL: logLevel,
  /** An admin token for DEFAULT_PROJECT, registered at start: how a fresh install gets its first token. */
  SHEPHERD_ADMIN_TOKEN: z
    .string()
    .regex(/^shp_[A-Za-z0-9_-]{32,}$/, { message: 'must look like shp_ followed by at least 32 characters' })
    .optional(),
  /** Requests a minute per API token (bursts up to the same number); 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  /** Created at start so a fresh install has somewhere to put models. */
  DEFAULT_PROJECT: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lowercase letters, digits and -' })
    .default('default'),
  /** Unset: embedded PGlite (in memory, or in PGLITE_DATA_DIR). */
  DATABASE_URL: postgresUrl.optional(),
  PGLITE_DATA_DIR: z.string().optional(),
  /** PostgreSQL connections the API keeps open when idle, so the first requests after a quiet spell don't open them. */
  API_DB_POOL_MIN: z.coerce.number().int().min(0).max(10).default(2),
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Encrypts Temporal payloads (AES-256-GCM); API and workers need the same keys. Unset: plain. */
  SHEPHERD_PAYLOAD_KEYS: payloadKeys.optional(),
  TRAINING_TASK_QUEUE: z.string().min(1).default(taskQueues.training),
  /** Rollout and rollback workflows. */
  MAIN_TASK_QUEUE: z.string().min(1).default(taskQueues.main),
  KAFKA_BROKERS: csv(hostPort).default(['127.0.0.1:9092']),
  ...artifactStoreEnv,
  /** Unset: MLflow mirroring is off. */
  MLFLOW_TRACKING_URI: httpUrl.optional(),
  /** OIDC bearer tokens (docs/security.md); unset: only Shepherd API tokens. Needs OIDC_AUDIENCE. */
  OIDC_ISSUER: httpUrl.optional(),
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** Unset: the jwks_uri of the issuer's /.well-known/openid-configuration. */
  OIDC_JWKS_URL: httpUrl.optional(),
  /** The claim listing `project:role` entries (a dotted path for nested claims). */
  OIDC_ROLE_CLAIM: z.string().min(1).default('shepherd_roles'),
  OIDC_ALLOWED_ALGS: csv(
    z.enum(oidcAlgorithms, { message: `each must be one of ${oidcAlgorithms.join(', ')}` }),
  ).default(['RS256', 'ES256']),
  /**
   * The dashboard's OIDC client (a public client: Authorization Code + PKCE, no secret). Set: the
   * dashboard offers "Sign in with <issuer>"; unset: API tokens only. Needs OIDC_ISSUER.
   */
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_SCOPES: z.string().min(1).default('openid profile'),
  /** Which token of the provider's answer the dashboard sends as Bearer: the one whose `aud` is OIDC_AUDIENCE. */
  OIDC_CLIENT_TOKEN: z.enum(['access_token', 'id_token']).default('access_token'),
});

export const apiEnvSchema = apiEnvFields.superRefine((env, issues) => {
  // Half a configuration would either silently turn OIDC off or accept tokens meant for other APIs.
  if (env.OIDC_ISSUER && !env.OIDC_AUDIENCE) {
    issues.addIssue({
      code: 'custom',
      path: ['OIDC_AUDIENCE'],
      message: 'required when OIDC_ISSUER is set',
    });
  }
  for (const name of ['OIDC_AUDIENCE', 'OIDC_JWKS_URL', 'OIDC_CLIENT_ID'] as const) {
    if (env[name] && !env.OIDC_ISSUER) {
      issues.addIssue({ code: 'custom', path: ['OIDC_ISSUER'], message: `required when ${name} is set` });
    }
  }
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export const loadApiEnv = (source?: Record<string, string | undefined>): ApiEnv =>
  parseEnv(apiEnvSchema, source);
