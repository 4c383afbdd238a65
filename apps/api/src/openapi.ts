import { z } from 'zod';
import { errorBody } from '@shepherd/contracts/health';
import { updateVersionBody } from '@shepherd/contracts/registry';
import { importRunBody, metricGate, promotionPolicy, trainingDataSpec } from '@shepherd/contracts/training';
import { errorStatus, type ErrorCode } from '@shepherd/core/errors';
import type { RouteSpec } from './route.ts';

/**
 * What JSON Schema cannot learn from zod: every `.refine()` on a request schema, restated. Without it
 * the document would accept what the server refuses (schemathesis finds exactly that). Keyed by the
 * refined schema itself; `undocumentedRefinements` names any refinement missing here.
 */
const refinements = new Map<z.core.$ZodType, Record<string, unknown>>([
  [
    metricGate,
    {
      anyOf: [
        { required: ['threshold'] },
        { required: ['minAbsoluteChange'] },
        { required: ['minRelativeChange'] },
      ],
    },
  ],
  [updateVersionBody, { anyOf: [{ required: ['description'] }, { required: ['tags'] }] }],
  [trainingDataSpec, { oneOf: [{ required: ['uri'] }, { required: ['views'] }] }],
  [
    promotionPolicy,
    { if: { properties: { mode: { const: 'canary' } }, required: ['mode'] }, then: { required: ['canary'] } },
  ],
  [importRunBody.shape.artifactPath.unwrap(), { not: { pattern: '(^|/)\\.\\.(/|$)' } }],
]);

const hasRefinement = (schema: z.core.$ZodType) =>
  (schema._zod.def.checks ?? []).some((check) => check._zod.def.check === 'custom');

/**
 * A pattern with each `.` spelled as what ECMAScript means by it (anything but a line terminator):
 * Python's and Rust's `.` also match `\r`, `\u2028` and `\u2029`, so tools reading the document with
 * those engines (schemathesis does) would take strings the server refuses for valid.
 */
export function portablePattern(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i];
    if (char === '\\') {
      out += char + (pattern[i + 1] ?? '');
      i += 1;
    } else if (inClass) {
      if (char === ']') inClass = false;
      out += char;
    } else if (char === '[') {
      inClass = true;
      out += char;
    } else {
      out += char === '.' ? '[^\\n\\r\\u2028\\u2029]' : char;
    }
  }
  return out;
}

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output', undocumented?: Set<string>) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    override: ({ zodSchema, jsonSchema: json, path }) => {
      if (typeof json.pattern === 'string') json.pattern = portablePattern(json.pattern);
      const restated = refinements.get(zodSchema);
      if (restated) Object.assign(json, restated);
      else if (io === 'input' && hasRefinement(zodSchema)) undocumented?.add(path.join('.') || '(root)');
    },
  });
  return rest as Record<string, unknown>;
};

const errorDescriptions: Partial<Record<number, string>> = {
  400: 'The request is invalid (the message and details say where)',
  401: 'No API token, or one that is unknown, revoked or expired',
  403: "The token's role lacks the permission this operation needs",
  404: "Not found, or another project's",
  409: 'Conflicts with the current state',
  413: 'The body is too large',
  414: 'A path segment is longer than 100 characters',
  415: 'The body is not JSON',
  422: 'The referenced data cannot be processed',
  429: 'The token is over its rate limit (Retry-After says when to retry)',
  431: 'The request line or headers exceed 16 KiB',
  503: 'A service this operation needs is unavailable',
};

/**
 * Every status a route can refuse with: what any route can (including 414 and 431, which Fastify and
 * Node answer before routing), plus what its handler declares.
 */
export function errorStatuses(spec: RouteSpec): number[] {
  const codes: ErrorCode[] = [
    'bad_request',
    'unauthenticated',
    'not_found',
    'rate_limited',
    ...(spec.errors ?? []),
  ];
  if (spec.permission !== 'read') codes.push('forbidden');
  const statuses = new Set<number>([...codes.map((code) => errorStatus[code]), 414, 431]);
  if (spec.body) {
    statuses.add(413);
    statuses.add(415);
  }
  return [...statuses].sort((a, b) => a - b);
}

const errorRef = { $ref: '#/components/schemas/Error' };

const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');
const pathParams = (url: string) => [...url.matchAll(/:([A-Za-z_]+)/g)].map((match) => match[1] ?? '');

/** From a creating route's response to each operation on what it created (OpenAPI links). */
function links(spec: RouteSpec, creates: NonNullable<RouteSpec['creates']>, routes: RouteSpec[]) {
  const below = `${spec.url}/:${creates.param}`;
  const targets = routes.filter((target) => target.url === below || target.url.startsWith(`${below}/`));
  return Object.fromEntries(
    targets.map((target) => [
      target.operationId,
      {
        operationId: target.operationId,
        parameters: Object.fromEntries(
          pathParams(below).map((name) => [
            name,
            name === creates.param ? `$response.body#/${creates.field}` : `$request.path.${name}`,
          ]),
        ),
      },
    ]),
  );
}

function operation(
  spec: RouteSpec,
  routes: RouteSpec[] | undefined,
  undocumented?: Set<string>,
): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!schema) continue;
    const shape = (schema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
    for (const [name, field] of Object.entries(shape)) {
      parameters.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        schema: jsonSchema(field, 'input', undocumented),
      });
    }
  }
  const responses: Record<string, unknown> = {
    [String(spec.status ?? 200)]: {
      description: 'OK',
      content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } },
      ...(spec.creates && routes ? { links: links(spec, spec.creates, routes) } : {}),
    },
  };
  for (const status of errorStatuses(spec)) {
    responses[String(status)] = {
      description: errorDescriptions[status] ?? 'The request was refused',
      content: { 'application/json': { schema: errorRef } },
    };
  }
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: [spec.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(spec.body, 'input', undocumented) } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document, derived from the same zod schemas that validate requests and responses. */
export function openApiDocument(routes: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = openApiPath(spec.url);
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = operation(spec, routes);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Shepherd control plane',
      version: '1.0.0',
      description:
        'Errors are `{ error: { code, message, requestId } }`. No string may contain NUL or an unpaired ' +
        'surrogate (PostgreSQL stores neither): such a request is refused with 400.',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token: shp_ and 43 characters' },
      },
      schemas: { Error: jsonSchema(errorBody, 'output') },
    },
  };
}

/** Where a request schema has a refinement the document does not restate: `operationId: path`. */
export function undocumentedRefinements(routes: RouteSpec[]): string[] {
  return routes.flatMap((spec) => {
    const found = new Set<string>();
    operation(spec, undefined, found);
    return [...found].map((path) => `${spec.operationId}: ${path}`);
  });
}
