import { z } from 'zod';
import { httpUrl, parseEnv } from '@shepherd/core/env';

export const cliEnvSchema = z.object({
  SHEPHERD_API_URL: httpUrl.default('http://127.0.0.1:8080'),
  SHEPHERD_GATEWAY_URL: httpUrl.default('http://127.0.0.1:8081'),
  SHEPHERD_DASHBOARD_URL: httpUrl.default('http://127.0.0.1:5173'),
  SHEPHERD_PROJECT: z.string().min(1).default('default'),
  /** An API token of the project (shp_…); `shepherd tokens create` makes more. */
  SHEPHERD_TOKEN: z.string().optional(),
});

export type CliEnv = z.infer<typeof cliEnvSchema>;

export const loadCliEnv = (source?: Record<string, string | undefined>): CliEnv =>
  parseEnv(cliEnvSchema, source);
