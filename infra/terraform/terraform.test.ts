import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { apiEnvSchema } from '../../apps/api/src/env.ts';
import { gatewayEnvSchema } from '../../apps/gateway/src/env.ts';
import { workerEnvSchema } from '../../apps/worker/src/env.ts';
import { taskQueues } from '@shepherd/contracts/training';
import { ingestEnvSchema } from '@shepherd/features/env';
import {
  attribute,
  blocks,
  literal,
  locals,
  objects,
  readModule,
  stripComments,
  variables,
} from './tf-text.ts';

const here = import.meta.dirname;
const repoRoot = resolve(here, '../..');
const modules = [
  'network',
  'database',
  'kafka',
  'artifacts',
  'secrets',
  'services',
  'temporal-cloud',
  'temporal-self-hosted',
];

/** Which app's env schema each ECS service runs with. The dashboard's schema isn't exported yet. */
const schemaOf: Record<string, z.ZodObject> = {
  api: apiEnvSchema,
  gateway: gatewayEnvSchema,
  'worker-main': workerEnvSchema,
  'worker-training': workerEnvSchema,
  ingestion: ingestEnvSchema,
};

/** Read by Node or the AWS SDK, not by an app's schema. */
const runtimeVariables = new Set(['NODE_EXTRA_CA_CERTS', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED']);

/**
 * Set by Terraform for a change the apps haven't made yet (README: Temporal Cloud). The test below
 * fails once an app reads one, so the entry can't outlive its reason.
 */
const pendingVariables = new Set(['TEMPORAL_API_KEY']);

/** Values that must come from Secrets Manager, never a plain environment entry. */
const secretVariables = ['DATABASE_URL', 'SHEPHERD_PAYLOAD_KEYS', 'SHEPHERD_ADMIN_TOKEN', 'TEMPORAL_API_KEY'];

interface Service {
  name: string;
  port: number | null;
  command: string[];
  needs: { database: boolean; kafka: boolean; temporal: boolean; s3: string };
  environment: Map<string, string>;
  secrets: Map<string, string>;
}

function readServices(): Service[] {
  const text = readModule(resolve(here, 'modules/services'));
  const scope = locals(text);
  const map = scope.get('services');
  if (!map) throw new Error('modules/services declares no local `services`');
  const body = map.slice(1, -1);
  const names = [...body.matchAll(/(?:^|\n)\s*([a-z][a-z0-9-]*)\s*=\s*\{/g)]
    .map((m) => m[1]!)
    .filter((name) => attribute(body, name) !== undefined);
  return names.map((name) => {
    const svc = attribute(body, name)!.slice(1, -1);
    const field = (key: string) => {
      const value = attribute(svc, key);
      if (value === undefined) throw new Error(`service ${name} has no ${key}`);
      return value;
    };
    const needs = field('needs');
    const flag = (key: string) => attribute(needs.slice(1, -1), key) === 'true';
    return {
      name,
      port: field('port') === 'null' ? null : Number(field('port')),
      command: JSON.parse(field('command')) as string[],
      needs: {
        database: flag('database'),
        kafka: flag('kafka'),
        temporal: flag('temporal'),
        s3: literal(attribute(needs.slice(1, -1), 's3')) ?? '',
      },
      environment: variables(field('environment'), scope),
      secrets: variables(field('secrets'), scope),
    };
  });
}

const services = readServices();
const service = (name: string) => {
  const found = services.find((s) => s.name === name);
  if (!found) throw new Error(`no service ${name} in modules/services`);
  return found;
};

/** A variable is required when its schema refuses it missing (no default, not optional). */
const requiredKeys = (schema: z.ZodObject) =>
  Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([key]) => key);

describe('tf-text reader', () => {
  it('strips comments but keeps URLs and interpolations inside strings', () => {
    const text = stripComments('a = "https://x/#y" # gone\nb = "${f("#")}" // gone too\n/* block */c = 1');
    expect(text).toBe('a = "https://x/#y" \nb = "${f("#")}" \nc = 1');
  });

  it('resolves locals through merge and local references, later arguments winning', () => {
    const scope = locals(
      stripComments(`locals {
        base = { A = "1", B = var.b }
        opt  = { for k, v in { C = var.c } : k => v if v != "" }
        all  = merge(local.base, local.opt, { B = "2" })
      }`),
    );
    expect([...variables('local.all', scope)]).toEqual([
      ['A', '"1"'],
      ['B', '"2"'],
      ['C', 'var.c'],
    ]);
  });

  it('refuses an expression it cannot read instead of guessing', () => {
    expect(() => variables('concat(local.x)', new Map())).toThrow(/cannot read/);
    expect(() => variables('local.missing', new Map())).toThrow(/not defined/);
  });
});

describe('ECS task environments against the apps’ env schemas', () => {
  it('has a service for every app process', () => {
    expect(services.map((s) => s.name).sort()).toEqual(
      ['api', 'dashboard', 'gateway', 'ingestion', 'worker-main', 'worker-training'].sort(),
    );
  });

  for (const [name, schema] of Object.entries(schemaOf)) {
    describe(name, () => {
      const svc = service(name);
      const set = new Set([...svc.environment.keys(), ...svc.secrets.keys()]);

      it('sets every variable the schema requires', () => {
        expect(requiredKeys(schema).filter((key) => !set.has(key))).toEqual([]);
      });

      it('sets no variable the app does not read (a typo is silently ignored otherwise)', () => {
        const known = (key: string) =>
          key in schema.shape ||
          (key.endsWith('_FILE') && key.slice(0, -'_FILE'.length) in schema.shape) ||
          runtimeVariables.has(key) ||
          pendingVariables.has(key);
        expect([...set].filter((key) => !known(key))).toEqual([]);
      });

      it('gives literal values the schema accepts', () => {
        const refused: string[] = [];
        for (const [key, expression] of svc.environment) {
          const value = literal(expression);
          const field = schema.shape[key] as z.ZodType | undefined;
          if (value === undefined || !field) continue;
          const parsed = field.safeParse(value);
          if (!parsed.success)
            refused.push(`${key}=${JSON.stringify(value)}: ${parsed.error.issues[0]?.message}`);
        }
        expect(refused).toEqual([]);
      });
    });
  }

  it('keeps secrets out of plain environment entries, and gives no static AWS keys', () => {
    for (const svc of services) {
      for (const key of secretVariables) expect(svc.environment.has(key), `${svc.name} ${key}`).toBe(false);
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        expect(
          svc.environment.has(key) || svc.secrets.has(key),
          `${svc.name} ${key}: use the task role`,
        ).toBe(false);
      }
    }
  });

  it('sets what production needs even where the schema has a development default', () => {
    for (const svc of services.filter((s) => s.name in schemaOf)) {
      const env = svc.environment;
      // Unset DATABASE_URL means an in-memory PGlite; unset S3_ENDPOINT means a local directory.
      expect(svc.secrets.has('DATABASE_URL'), `${svc.name} DATABASE_URL`).toBe(svc.needs.database);
      expect(env.has('S3_ENDPOINT') && env.has('S3_BUCKET'), `${svc.name} S3`).toBe(svc.needs.s3 !== 'none');
      expect(env.has('KAFKA_BROKERS'), `${svc.name} KAFKA_BROKERS`).toBe(svc.needs.kafka);
      expect(env.has('TEMPORAL_ADDRESS') && env.has('TEMPORAL_NAMESPACE'), `${svc.name} Temporal`).toBe(
        svc.needs.temporal,
      );
    }
    // Behind the ALB the HTTP servers must listen on every interface, on the port the target group uses.
    for (const [name, host, port] of [
      ['api', 'API_HOST', 'API_PORT'],
      ['gateway', 'GATEWAY_HOST', 'GATEWAY_PORT'],
      ['dashboard', null, 'DASHBOARD_PORT'],
    ] as const) {
      const svc = service(name);
      if (host) expect(literal(svc.environment.get(host)), `${name} ${host}`).toBe('0.0.0.0');
      expect(Number(literal(svc.environment.get(port))), `${name} ${port}`).toBe(svc.port);
    }
    expect(service('dashboard').command).toContain('0.0.0.0');
  });

  it('gives the api and every worker the same payload keys and Temporal namespace', () => {
    const clients = services.filter((s) => s.needs.temporal);
    expect(clients.map((s) => s.name)).toContain('api');
    expect(new Set(clients.map((s) => s.secrets.get('SHEPHERD_PAYLOAD_KEYS'))).size).toBe(1);
    expect(clients[0]!.secrets.get('SHEPHERD_PAYLOAD_KEYS')).toBeDefined();
    expect(new Set(clients.map((s) => s.environment.get('TEMPORAL_NAMESPACE'))).size).toBe(1);
    expect(new Set(clients.map((s) => s.environment.get('TEMPORAL_ADDRESS'))).size).toBe(1);
  });

  it('polls every task queue with a worker service, and the api starts work only on polled queues', () => {
    const polled = services
      .filter((s) => s.environment.has('WORKER_TASK_QUEUES'))
      .flatMap((s) => literal(s.environment.get('WORKER_TASK_QUEUES'))!.split(','));
    expect(polled.sort()).toEqual(Object.values(taskQueues).sort());
    const api = service('api');
    for (const key of ['TRAINING_TASK_QUEUE', 'MAIN_TASK_QUEUE'].filter((k) => k in apiEnvSchema.shape)) {
      expect(polled, key).toContain(literal(api.environment.get(key)));
    }
  });

  it('runs entry points that exist in the repository', () => {
    for (const svc of services) {
      const files = svc.command.filter((arg) => arg.endsWith('.ts'));
      const workspace = svc.command.indexOf('-w');
      expect(files.length + (workspace >= 0 ? 1 : 0), `${svc.name}: ${svc.command.join(' ')}`).toBe(1);
      for (const file of files) expect(existsSync(resolve(repoRoot, file)), file).toBe(true);
      if (workspace >= 0) {
        const pkg = svc.command[workspace + 1]!;
        const dir = resolve(repoRoot, 'apps', pkg.replace('@shepherd/', ''));
        const manifest = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')) as {
          name: string;
          scripts: Record<string, string>;
        };
        expect(manifest.name).toBe(pkg);
        expect(manifest.scripts[svc.command[workspace - 1]!]).toBeDefined();
      }
    }
  });

  it('lists the pending variables only while no app reads them', () => {
    for (const key of pendingVariables) {
      for (const schema of Object.values(schemaOf)) expect(key in schema.shape, key).toBe(false);
    }
  });
});

describe('artifact bucket', () => {
  const text = readModule(resolve(here, 'modules/artifacts'));
  const one = (type: string) => {
    const found = blocks(text, new RegExp(`resource\\s+"${type}"\\s+"artifacts"`));
    expect(found, type).toHaveLength(1);
    return found[0]!;
  };

  it('is versioned', () => {
    expect(one('aws_s3_bucket_versioning')).toMatch(/status\s*=\s*"Enabled"/);
  });

  it('is encrypted with its own KMS key', () => {
    const sse = one('aws_s3_bucket_server_side_encryption_configuration');
    expect(sse).toMatch(/sse_algorithm\s*=\s*"aws:kms"/);
    expect(sse).toMatch(/kms_master_key_id\s*=\s*aws_kms_key\.artifacts\.arn/);
    expect(blocks(text, /resource\s+"aws_kms_key"\s+"artifacts"/)[0]).toMatch(
      /enable_key_rotation\s*=\s*true/,
    );
  });

  it('blocks every kind of public access', () => {
    const block = one('aws_s3_bucket_public_access_block');
    for (const flag of [
      'block_public_acls',
      'block_public_policy',
      'ignore_public_acls',
      'restrict_public_buckets',
    ]) {
      expect(attribute(block, flag), flag).toBe('true');
    }
  });

  it('has lifecycle rules for old versions and abandoned uploads', () => {
    const lifecycle = one('aws_s3_bucket_lifecycle_configuration');
    const rules = blocks(lifecycle, /rule/);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(attribute(rule, 'status')).toBe('"Enabled"');
    expect(rules.some((r) => /abort_incomplete_multipart_upload/.test(r))).toBe(true);
    // Every prefix the apps write under ages its noncurrent versions out.
    for (const prefix of ['models/', 'training-sets/', 'data/']) {
      const rule = rules.find((r) => r.includes(`prefix = "${prefix}"`));
      expect(rule, prefix).toMatch(/noncurrent_version_expiration/);
    }
  });

  it('refuses requests without TLS', () => {
    expect(text).toMatch(/aws:SecureTransport/);
    expect(blocks(text, /resource\s+"aws_s3_bucket_policy"\s+"artifacts"/)).toHaveLength(1);
  });
});

describe('IAM', () => {
  const iam = readModule(resolve(here, 'modules/services'));

  /** Every object literal with an Effect: one IAM statement each. */
  const statements = objects(iam).filter((object) => attribute(object.slice(1, -1), 'Effect') !== undefined);

  it('has statements to check', () => {
    expect(statements.length).toBeGreaterThan(5);
  });

  it('grants no wildcard actions', () => {
    for (const statement of statements) {
      const actions =
        attribute(statement.slice(1, -1), 'Action') ?? attribute(statement.slice(1, -1), 'NotAction');
      expect(actions, statement).toBeDefined();
      expect(actions, statement).not.toMatch(/"(\*|[a-z0-9]+:\*)"/);
    }
  });

  it('uses Resource "*" only for actions that have no resource-level permissions', () => {
    const allowedOnStar = /^(ecr:GetAuthorizationToken|ssmmessages:[A-Za-z]+)$/;
    for (const statement of statements.filter((s) => /\["\*"\]|=\s*"\*"/.test(s))) {
      const actions = [...statement.matchAll(/"([a-z0-9]+:[A-Za-z]+)"/g)].map((m) => m[1]!);
      expect(actions.length).toBeGreaterThan(0);
      for (const action of actions) expect(action, statement).toMatch(allowedOnStar);
    }
  });
});

describe('environments', () => {
  for (const env of ['dev', 'prod']) {
    const text = readModule(resolve(here, 'environments', env));

    it(`${env} composes every module`, () => {
      const sources = [...text.matchAll(/source\s*=\s*"\.\.\/\.\.\/modules\/([a-z-]+)"/g)].map((m) => m[1]!);
      expect(sources.sort()).toEqual([...modules].sort());
      for (const module of modules)
        expect(existsSync(resolve(here, 'modules', module, 'main.tf')), module).toBe(true);
    });

    it(`${env} sizes every service`, () => {
      const sizes = attribute(blocks(text, /module\s+"services"/)[0]!, 'sizes')!;
      const sized = [...sizes.matchAll(/(?:^|\n)\s*([a-z][a-z0-9-]*)\s*=\s*\{/g)].map((m) => m[1]!);
      expect(sized.sort()).toEqual(services.map((s) => s.name).sort());
    });
  }
});
