/**
 * The demo: brings up the real stack and the platform's processes, plays the scenario, prints
 * where to look, and keeps running until Ctrl-C, which stops everything it started.
 *   DEMO_EXIT=1  stop after the scenario instead of waiting (used by tests and CI).
 *   DEMO_FAST=1  smaller data sets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { localStack, localStackEnv } from '../infra/local/endpoints.ts';
import { down, status as stackStatus, up } from '../infra/local/manager.ts';
import { defaultCacheDir, defaultStateDir, repoRoot } from '../infra/local/paths.ts';
import type { StackContext } from '../infra/local/types.ts';
import { collectStatus, formatStatus } from '../apps/cli/src/status.ts';
import { createDb } from '../packages/db/src/client.ts';
import { migrate } from '../packages/db/src/migrate.ts';
import { servingNodeFlags } from '../packages/core/src/node-flags.ts';
import { playScenario } from './scenario.ts';

const log = (message: string) => process.stdout.write(`[demo] ${message}\n`);
const ctx: StackContext = {
  cacheDir: defaultCacheDir(),
  stateDir: defaultStateDir(),
  log: (message) => process.stdout.write(`[stack] ${message}\n`),
};
const logsDir = join(repoRoot, '.state', 'demo', 'logs');
const ports = { api: 8080, gateway: 8081, dashboard: 5173 };
const urls = {
  api: `http://127.0.0.1:${ports.api}`,
  gateway: `http://127.0.0.1:${ports.gateway}`,
  dashboard: `http://127.0.0.1:${ports.dashboard}`,
};

// One admin token per checkout, kept across runs so a CLI session keeps working.
const tokenFile = join(repoRoot, '.state', 'demo', 'admin-token');
const adminToken = readOrCreate(tokenFile, () => `shp_${randomBytes(32).toString('base64url')}`);
// Temporal payloads are encrypted in the demo as they should be in production.
const payloadKeys = readOrCreate(
  join(repoRoot, '.state', 'demo', 'payload-keys'),
  () => `demo:${randomBytes(32).toString('base64')}`,
);

function readOrCreate(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

const children: { name: string; child: ChildProcess }[] = [];
let stackWasRunning = false;
let stopping = false;
/** Set by Ctrl-C: the scenario's calls then fail as the platform goes, and that is no failure. */
let interrupted = false;

function startApp(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = repoRoot,
): void {
  mkdirSync(logsDir, { recursive: true });
  const out = openSync(join(logsDir, `${name}.log`), 'w');
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...localStackEnv(), SHEPHERD_PAYLOAD_KEYS: payloadKeys, ...env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  child.once('exit', (code) => {
    if (!stopping) log(`${name} exited with code ${code ?? 'null'}; see ${join(logsDir, `${name}.log`)}`);
  });
  children.push({ name, child });
}

async function waitFor(name: string, url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    const entry = children.find((c) => c.name === name);
    if (entry && entry.child.exitCode !== null)
      throw new Error(`${name} exited; see ${join(logsDir, `${name}.log`)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `${name} did not answer ${url} within ${timeoutMs / 1000}s; see ${join(logsDir, `${name}.log`)}`,
  );
}

let stopped: Promise<void> | undefined;
/** Stops what the demo started, once; every caller waits for the same stop. */
function stopAll(): Promise<void> {
  stopped ??= stopEverything();
  return stopped;
}

async function stopEverything(): Promise<void> {
  stopping = true;
  log('stopping the platform');
  for (const { child } of children.reverse()) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            if (child.pid !== undefined) {
              try {
                process.kill(-child.pid, 'SIGKILL');
              } catch {
                // already gone
              }
            }
            resolve();
          }, 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  if (!stackWasRunning) await down(ctx);
  else
    log(
      'the stack was already running before the demo, so it is left running (npm run stack -- down stops it)',
    );
}

async function main(): Promise<void> {
  const before = await stackStatus(ctx);
  stackWasRunning = before.every((service) => service.healthy);
  log('step 1/4: the real stack (PostgreSQL, S3, Kafka, Temporal, MLflow)');
  await up(ctx);

  log('step 2/4: building the dashboard and starting api, worker, feature ingestion, gateway, dashboard');
  const tsx = join(repoRoot, 'node_modules/.bin/tsx');
  const build = spawn(join(repoRoot, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], {
    cwd: join(repoRoot, 'apps/dashboard'),
    stdio: 'inherit',
  });
  // The database schema before any process: the gateway loads its routing table as it starts and
  // refuses to start without one, and on a fresh database the API's own migration may not be done.
  const database = await createDb({ databaseUrl: localStackEnv().DATABASE_URL });
  try {
    await migrate(database.db);
  } finally {
    await database.close();
  }
  const buildCode = await new Promise<number | null>((resolve) => build.once('close', resolve));
  if (buildCode !== 0) throw new Error('dashboard build failed');
  startApp('api', tsx, [...servingNodeFlags, 'apps/api/src/main.ts'], {
    API_PORT: String(ports.api),
    SHEPHERD_ADMIN_TOKEN: adminToken,
  });
  startApp('worker', tsx, ['apps/worker/src/main.ts']);
  startApp('ingest', tsx, ['packages/features/src/ingest-main.ts'], {
    FEATURE_VIEWS: 'all',
    SHEPHERD_PROJECT: 'default',
  });
  startApp('gateway', tsx, [...servingNodeFlags, 'apps/gateway/src/main.ts'], {
    GATEWAY_PORT: String(ports.gateway),
  });
  startApp(
    'dashboard',
    join(repoRoot, 'node_modules/.bin/vite'),
    ['preview', '--logLevel', 'warn'],
    {
      DASHBOARD_PORT: String(ports.dashboard),
      SHEPHERD_API_URL: urls.api,
    },
    join(repoRoot, 'apps/dashboard'),
  );
  await Promise.all([
    waitFor('api', `${urls.api}/healthz`),
    waitFor('gateway', `${urls.gateway}/healthz`),
    waitFor('dashboard', urls.dashboard),
  ]);

  log('step 3/4: the scenario');
  const { temporal, mlflow } = localStack;
  const result = await playScenario({
    log,
    env: { ...localStackEnv(), SHEPHERD_PAYLOAD_KEYS: payloadKeys },
    apiUrl: urls.api,
    gatewayUrl: urls.gateway,
    dashboardUrl: urls.dashboard,
    token: adminToken,
    links: {
      mlflow: `http://${mlflow.host}:${mlflow.port}`,
      temporal: `http://${temporal.host}:${temporal.uiPort}`,
    },
    fast: process.env.DEMO_FAST === '1',
  });
  writeFileSync(join(repoRoot, '.state', 'demo', 'result.json'), JSON.stringify(result, null, 2));

  log('step 4/4: platform status');
  process.stdout.write(`${formatStatus(await collectStatus(urls))}\n\n`);
  process.stdout.write(
    [
      'Shepherd is running:',
      `  dashboard    ${urls.dashboard}`,
      `  api          ${urls.api}  (readiness: ${urls.api}/readyz)`,
      `  gateway      ${urls.gateway}`,
      `  Temporal UI  http://${temporal.host}:${temporal.uiPort}`,
      `  MLflow UI    http://${mlflow.host}:${mlflow.port}`,
      `  champion     ${result.model} v${result.champion}  (npm run shepherd -- versions ${result.model})`,
      `  lineage      ${urls.dashboard}/#/lineage/model_version/${result.championId ?? ''}  (printed above: Kafka offsets → feature view → training set → run → version → endpoint)`,
      `  MLflow model ${`http://${mlflow.host}:${mlflow.port}`}/#/models/${result.model}`,
      `  scenario     ${result.seconds}s; ${Object.values(result.predictions).reduce((a, b) => a + b, 0)} live predictions, ${result.failedPredictions} failed`,
      `  logs         ${logsDir}`,
      `  CLI          export SHEPHERD_TOKEN=$(cat ${tokenFile})  # an admin token of project "default"`,
      '',
    ].join('\n'),
  );
}

const onSignal = (code: number) => () => {
  interrupted = true;
  void stopAll().then(() => process.exit(code));
};
process.once('SIGINT', onSignal(130));
process.once('SIGTERM', onSignal(143));

main().then(
  async () => {
    if (process.env.DEMO_EXIT === '1') {
      await stopAll();
      process.exit(0);
    }
    log('press Ctrl-C to stop everything the demo started');
  },
  async (err: unknown) => {
    // After Ctrl-C the signal handler owns the exit (130), once everything has stopped.
    if (interrupted) return;
    process.stderr.write(`[demo] failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  },
);
