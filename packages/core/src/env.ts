import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Parses an app's environment once at start. A bad or missing variable ends the process
 * with a message naming it, never a stack trace: operators read this, not developers.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  source: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(withSecretFiles(schema, source));
  if (result.success) return result.data;
  throw new ConfigError(describeIssues(result.error));
}

/**
 * Secrets may come from files (Docker/Kubernetes secrets, Secrets Manager mounts): for every variable
 * X of the schema, X_FILE names a file whose content is X. Setting both is a mistake, named as such.
 */
function withSecretFiles(
  schema: z.ZodObject,
  source: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const resolved = { ...source };
  for (const name of Object.keys(schema.shape)) {
    const file = source[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (source[name] !== undefined && source[name] !== '') {
      throw new ConfigError(
        `invalid configuration:\n  ${name}: set either ${name} or ${name}_FILE, not both`,
      );
    }
    try {
      resolved[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(`invalid configuration:\n  ${name}_FILE: cannot read ${file} (${code})`);
    }
  }
  return resolved;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describeIssues(error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    return `  ${name}: ${issue.message}`;
  });
  return `invalid configuration:\n${lines.join('\n')}`;
}

/** Runs `main`, turning configuration and startup failures into a one-line message and exit code 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name}: ${message}\n`);
    process.exit(1);
  });
}

/** A postgres URL check that names what is wrong instead of failing later inside the driver. */
export const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be a URL like postgres://user:password@host:5432/database' },
);

export const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, { message: 'must be host:port, e.g. 127.0.0.1:7233' });

export const port = z.coerce.number().int().min(1).max(65535);

export const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

export const logLevel = z
  .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
  .default('info');

/** Comma-separated list, e.g. KAFKA_BROKERS=127.0.0.1:9092,127.0.0.1:9093. */
export const csv = <Item extends z.ZodType<unknown, string>>(item: Item) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(item).min(1));

/** SHEPHERD_PAYLOAD_KEYS: `id:base64(32 bytes)[,…]`; the first key encrypts, all decrypt. */
export const payloadKeys = z
  .string()
  .regex(/^([A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]{43}=)(,[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]{43}=)*$/, {
    message: 'must be id:base64-of-32-bytes, comma-separated (e.g. k1:$(openssl rand -base64 32))',
  });
