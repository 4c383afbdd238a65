import { z } from 'zod';
import { csv, hostPort, logLevel, parseEnv, postgresUrl } from '@shepherd/core/env';

/** `name` (its highest registered version) or `name@version`. */
export interface ViewSelector {
  name: string;
  version?: number;
}

const viewSelector = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}(@[1-9][0-9]*)?$/, {
    message: "must be 'all' or a comma-separated list of view names, each optionally @version",
  })
  .transform((item): ViewSelector => {
    const [name, version] = item.split('@') as [string, string | undefined];
    return version === undefined ? { name } : { name, version: Number(version) };
  });

export const ingestEnvSchema = z.object({
  /** The offline and online stores live in PostgreSQL; an embedded PGlite can't be shared. */
  DATABASE_URL: postgresUrl,
  KAFKA_BROKERS: csv(hostPort).default(['127.0.0.1:9092']),
  /** 'all' = the highest version of every view registered in the project. */
  FEATURE_VIEWS: z
    .string()
    .default('all')
    .pipe(z.union([z.literal('all'), csv(viewSelector)])),
  SHEPHERD_PROJECT: z.string().min(1).default('default'),
  FEATURE_MAX_EVENT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  LOG_LEVEL: logLevel,
});

export type IngestEnv = z.infer<typeof ingestEnvSchema>;

export const loadIngestEnv = (source?: Record<string, string | undefined>): IngestEnv =>
  parseEnv(ingestEnvSchema, source);
