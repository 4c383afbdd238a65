import { z } from 'zod';
import { logLevel, parseEnv, port } from '@shepherd/core/env';

export const gatewayEnvSchema = z.object({
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port.default(8081),
  LOG_LEVEL: logLevel,
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export const loadGatewayEnv = (source?: Record<string, string | undefined>): GatewayEnv =>
  parseEnv(gatewayEnvSchema, source);
