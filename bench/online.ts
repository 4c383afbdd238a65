/**
 * Online lookup latency: one entity's vector at fixed request rates, for views of 10, 50 and 100
 * features, in process (`getOnlineFeatures`) and over HTTP (the API's online-features route, served
 * by the real app in a child process, driven by the compiled client in bench/loadgen). Reference in
 * the same run: the same row read by a bare node-postgres query (the floor any lookup through
 * PostgreSQL pays).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { defineFeatureView, type FeatureEvent } from '../packages/contracts/src/features.ts';
import { servingNodeFlags } from '../packages/core/src/node-flags.ts';
import { createDb } from '../packages/db/src/client.ts';
import { getOnlineFeatures } from '../packages/features/src/online.ts';
import { registerFeatureView, type RegisteredFeatureView } from '../packages/features/src/registry.ts';
import { writeBatch } from '../packages/features/src/store.ts';
import { ensureProject } from '../packages/registry/src/projects.ts';
import { createToken } from '../packages/registry/src/tokens.ts';
import { openTestDatabase } from '../packages/testing/src/database.ts';
import { testEnv } from '../packages/testing/src/env.ts';
import type { Benchmark, BenchResult } from './lib.ts';
import { atFixedRate, warmupSeconds } from './_fixed-rate.ts';
import { httpCall, startHttpFloor, type HttpRequest } from './_http.ts';
import { httpAtFixedRate, serverWarmup, warmServer } from './_loadgen.ts';
import { answerPauses, childPauses } from './_pauses.ts';

const featureCounts = [10, 50, 100] as const;
const rates = [100, 500, 1000] as const;
const ENTITIES = 10_000;
const PROJECT = 'bench-online';

function viewFor(features: number) {
  return defineFeatureView({
    name: `bench_online_${features}`,
    version: 1,
    entityKey: 'entity_id',
    ttlSeconds: 86_400,
    features: Array.from({ length: features }, (_, f) => ({ name: `f${f}`, type: 'float' as const })),
  });
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

async function startServer(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    // BENCH_PROFILE=<dir>: the API process writes a V8 CPU profile there when it exits.
    execArgv: [
      '--import',
      'tsx',
      ...servingNodeFlags,
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
    ],
    env: { ...process.env, BENCH_ONLINE_SERVE: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`API server exited with code ${code} before listening`)));
  });
  return { child, port };
}

/** The child: the real API app (auth, routes, error handling) over the benchmark's database. */
async function serve(databaseUrl: string): Promise<void> {
  const { buildApp } = await import('../apps/api/src/app.ts');
  const { connectTemporal } = await import('../packages/clients/src/temporal.ts');
  const env = testEnv();
  const { loadApiEnv } = await import('../apps/api/src/env.ts');
  // The pool as the API's main.ts opens it, API_DB_POOL_MIN connections kept while idle. Without
  // them, the API sat idle through the 10 s of in-process references before each HTTP window, and
  // a CPU profile of that window showed connections being opened in it (SCRAM, 7–9 ms each here).
  const database = await createDb({
    databaseUrl,
    maxConnections: 10,
    minConnections: loadApiEnv({ DATABASE_URL: databaseUrl }).API_DB_POOL_MIN,
  });
  const temporal = await connectTemporal({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
  });
  const app = buildApp({
    logger: pino({ level: 'silent' }),
    readiness: [],
    services: { db: database.db, temporal: temporal.client, trainingTaskQueue: 'bench-unused' },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  process.send?.({ port: address.port });
  // The parent asks for this process's pauses around each measured window.
  answerPauses();
  process.once('disconnect', () => {
    void app.close().then(() => database.close().then(() => process.exit(0)));
  });
}

const benchmark: Benchmark = async ({ quick, log }): Promise<BenchResult> => {
  const seconds = quick ? 1 : 5;
  const database = await openTestDatabase();
  const raw = new pg.Pool({ connectionString: database.url, max: 10 });
  let server: { child: ChildProcess; port: number } | undefined;
  let floor: Awaited<ReturnType<typeof startHttpFloor>> | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const project = await ensureProject(database.db, PROJECT);
    const { token } = await createToken(database.db, {
      projectId: project.id,
      name: 'bench',
      role: 'viewer',
      createdBy: 'bench',
    });
    const views = new Map<number, RegisteredFeatureView>();
    for (const features of featureCounts) {
      const { registered } = await registerFeatureView(
        { db: database.db, projectId: project.id, actor: 'bench' },
        viewFor(features),
      );
      views.set(features, registered);
      const now = Date.now();
      for (let chunk = 0; chunk < ENTITIES; chunk += 2000) {
        const events = Array.from({ length: 2000 }, (_, k) => {
          const values: FeatureEvent['values'] = {};
          for (let f = 0; f < features; f++) values[`f${f}`] = Math.round(Math.random() * 1e6) / 100;
          return {
            offset: String(chunk + k),
            eventTimeMs: now - 60_000,
            event: {
              schemaVersion: 1 as const,
              entityId: `entity-${chunk + k}`,
              eventTime: new Date(now - 60_000).toISOString(),
              values,
            },
          };
        });
        await writeBatch(database.db, registered, {
          topic: registered.view.sourceTopic,
          partition: 0,
          events,
          rejectedOffsets: [],
          lastOffset: events[events.length - 1]!.offset,
        });
      }
    }
    log(`${ENTITIES} entities in views of ${featureCounts.join(', ')} features`);
    server = await startServer(database.url);

    const entity = (i: number) => `entity-${(i * 7919) % ENTITIES}`;
    const http = (path: string) =>
      httpCall(agent, { port: server!.port, path, headers: { authorization: `Bearer ${token}` } });
    const onlinePath = (name: string, i: number) =>
      `/v1/projects/${PROJECT}/feature-views/${name}/online?entity=${entity(i)}`;

    // The floor answers each view's path with the bytes the API answers for one of its entities.
    const floorBodies: Record<string, string> = {};
    for (const features of featureCounts) {
      const response = await fetch(
        `http://127.0.0.1:${server.port}${onlinePath(views.get(features)!.view.name, 0)}`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      if (response.status !== 200) throw new Error(`online lookup: HTTP ${response.status}`);
      floorBodies[`/${features}`] = await response.text();
    }
    floor = await startHttpFloor(floorBodies);
    const floorCall = (features: number) => httpCall(agent, { port: floor!.port, path: `/${features}` });
    // What the compiled client sends: request i asks for entity(i), as the in-process calls do.
    const loadFor = (name: string): HttpRequest[] =>
      Array.from({ length: ENTITIES }, (_, i) => ({
        path: onlinePath(name, i),
        headers: { authorization: `Bearer ${token}` },
      }));

    // Every path once before measuring: connections, JIT, caches.
    for (const features of featureCounts) {
      const name = views.get(features)!.view.name;
      await atFixedRate(
        500,
        quick ? 0.2 : 1,
        async (i) => {
          await getOnlineFeatures(database.db, project.id, name, [entity(i)]);
          await http(onlinePath(name, i));
          await floorCall(features);
        },
        { warmup: 0 },
      );
    }

    const figures: Record<string, number> = {};
    let errors = 0;
    const failures = new Set<string>();
    // The API in its steady state before any measured window: serverWarmup's load on each view.
    for (const features of featureCounts) {
      const warm = await warmServer(server.port, loadFor(views.get(features)!.view.name), { quick });
      if (warm.firstError) failures.add(warm.firstError);
      errors += warm.errors;
    }
    for (const features of featureCounts) {
      const registered = views.get(features)!;
      const name = registered.view.name;
      const load = loadFor(name);
      for (const rate of rates) {
        const reference = await atFixedRate(rate, seconds, async (i) => {
          await raw.query({
            name: 'bench-online-row',
            text: 'select values, event_time from feature_online_rows where view_id = $1 and entity_id = $2',
            values: [registered.id, entity(i)],
          });
        });
        const inProcess = await atFixedRate(rate, seconds, async (i) => {
          const result = await getOnlineFeatures(database.db, project.id, name, [entity(i)]);
          if (!result.vectors[0]?.found) throw new Error(`${entity(i)} not found`);
        });
        server.child.send('reset-pauses');
        const overHttp = await httpAtFixedRate(server.port, load, rate, seconds);
        const api = await childPauses(server.child);
        if (overHttp.firstError) failures.add(overHttp.firstError);
        errors += reference.errors + inProcess.errors + overHttp.errors;
        const key = `${features}f_${rate}rps`;
        figures[`sql_p50_ms_${key}`] = round3(reference.p50);
        figures[`sql_p99_ms_${key}`] = round3(reference.p99);
        figures[`inprocess_p50_ms_${key}`] = round3(inProcess.p50);
        figures[`inprocess_p99_ms_${key}`] = round3(inProcess.p99);
        figures[`http_p50_ms_${key}`] = round3(overHttp.p50);
        figures[`http_p99_ms_${key}`] = round3(overHttp.p99);
        figures[`http_achieved_rps_${key}`] = Math.round(overHttp.achievedRps);
        if (rate === 1000) {
          const bare = await httpAtFixedRate(floor.port, [{ path: `/${features}` }], rate, seconds);
          if (bare.firstError) failures.add(bare.firstError);
          errors += bare.errors;
          figures[`http_floor_p50_ms_${key}`] = round3(bare.p50);
          figures[`http_floor_p99_ms_${key}`] = round3(bare.p99);
          // The same requests from a keep-alive node:http agent in this process, the client these
          // figures came from before: what a Node client's own event loop adds to the tail.
          const nodeClient = await atFixedRate(rate, seconds, (i) => http(onlinePath(name, i)));
          errors += nodeClient.errors;
          figures[`http_node_client_p50_ms_${key}`] = round3(nodeClient.p50);
          figures[`http_node_client_p99_ms_${key}`] = round3(nodeClient.p99);
          log(
            `${features} features @ ${rate}/s: HTTP floor p50/p99 ${round3(bare.p50)}/${round3(bare.p99)} ms, ` +
              `API from a Node client ${round3(nodeClient.p50)}/${round3(nodeClient.p99)} ms`,
          );
          figures[`http_api_loop_max_ms_${key}`] = api.loopMaxMs;
          figures[`http_api_gc_max_ms_${key}`] = api.gcMaxMs;
          figures[`http_api_gc_total_ms_${key}`] = api.gcTotalMs;
          // Warm-up included: the API served rate × (warm-up + window) requests between the readings.
          figures[`http_api_cpu_us_per_request_${key}`] = Math.round(
            (api.cpuMs * 1000) / (rate * (warmupSeconds + seconds)),
          );
          figures[`http_api_background_cpu_ms_${key}`] = api.backgroundCpuMs;
        }
        log(
          `${features} features @ ${rate}/s: sql p50/p99 ${round3(reference.p50)}/${round3(reference.p99)} ms, ` +
            `in-process ${round3(inProcess.p50)}/${round3(inProcess.p99)} ms, http ${round3(overHttp.p50)}/${round3(overHttp.p99)} ms ` +
            `(api loop max ${api.loopMaxMs} ms, gc max ${api.gcMaxMs} ms in ${api.gcCount}, background threads ${api.backgroundCpuMs} ms CPU)`,
        );
      }
    }
    figures.errors = errors;
    const targetP99 = figures['http_p99_ms_50f_1000rps']!;
    return {
      name: 'online',
      description: `Online lookup of one entity (of ${ENTITIES.toLocaleString('en-US')}) at fixed request rates (${rates.join(', ')}/s, ${seconds} s each, open loop: latency counted from when each request was due), views of ${featureCounts.join(', ')} float features.`,
      reference:
        'the same row by a bare node-postgres prepared query in the same process (the floor); published: Feast p99 ≈ 4 ms (Go server) and 7 ms (Python), 50 features, one row',
      figures,
      ratio: {
        label: 'HTTP p99 at 1000/s, 50 features / 2 ms',
        value: Math.round((targetP99 / 2) * 100) / 100,
      },
      target: {
        description: 'p99 under 2 ms over HTTP at 1,000 requests/s for 50 features',
        met: targetP99 < 2 && errors === 0,
      },
      notes: [
        'HTTP goes through the whole API: bearer-token authentication, project scoping, validation, the route, JSON; the server is the real app in a child process.',
        "The HTTP client is bench/loadgen (C, one thread, epoll, keep-alive sockets, open loop from each request's due time), so the tail is the server's and the machine's rather than a Node client's event loop. http_node_client_*: the same 1000/s requests from a keep-alive node:http agent in this process, for comparison with the figures before the compiled client.",
        'Load generator, API, PostgreSQL and the rest of the local stack share the same cores.',
        `Before any measured window the API answers ${serverWarmup.rate * serverWarmup.seconds} requests per view at ${serverWarmup.rate}/s (bench/_loadgen.ts), so it is measured warm: while V8 is still optimizing its code, the compiler's threads take both cores for milliseconds at a time. http_api_background_cpu_ms_*: CPU of the API's threads other than the main one over each 1000/s window and its warm-up.`,
        `http_floor_*: at 1000/s right after each HTTP window, a bare node:http server in its own process answering the same response bytes with no other work (bench/_http.ts): the p99 any HTTP server has on this machine, before it does anything. 50 features: floor p99 ${figures['http_floor_p99_ms_50f_1000rps']} ms, the API ${targetP99} ms.`,
        errors > 0 ? `${errors} requests failed: ${[...failures].join('; ')}` : 'No request failed.',
      ],
    };
  } finally {
    server?.child.disconnect();
    await floor?.stop();
    agent.destroy();
    await raw.end();
    await database.dispose();
  }
};

export default benchmark;

if (process.env.BENCH_ONLINE_SERVE) {
  serve(process.env.BENCH_ONLINE_SERVE).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
