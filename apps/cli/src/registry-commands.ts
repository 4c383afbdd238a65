import type { Command } from 'commander';
import type { LineageView, ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import type { ApiClient } from './api-client.ts';
import { commandClient, printer, type Out } from './command.ts';
import { fmt, jsonOption, table } from './format.ts';

async function waitForTraining(api: ApiClient, id: string, out: Out): Promise<TrainingRunView> {
  let lastStep = '';
  for (;;) {
    const run = await api.call<TrainingRunView>('GET', `/trainings/${id}`);
    if (run.step !== lastStep) {
      out(`  ${run.step}`);
      lastStep = run.step;
    }
    if (run.state !== 'running') return run;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function describeTraining(run: TrainingRunView): string {
  const version = run.version === null ? '' : ` version ${run.version}`;
  const reason = run.failureReason ? `\n  reason: ${run.failureReason}` : '';
  return `training ${run.id} (${run.requestId}): ${run.state}${version}, step ${run.step}${reason}`;
}

export function registerRegistryCommands(program: Command, out: Out): void {
  const client = () => commandClient(program);
  const print = printer(out);

  const models = program.command('models').description('list and create models');
  models
    .command('list')
    .description('list the models of the project')
    .action(async () => {
      const { api, json } = client();
      const result = await api.call<{ models: ModelView[] }>('GET', '/models');
      print(json, result, () =>
        table([
          ['MODEL', 'TASK', 'ALIASES'],
          ...result.models.map((m) => [
            m.name,
            m.task,
            Object.entries(m.aliases)
              .map(([a, v]) => `${a}=v${v}`)
              .join(' '),
          ]),
        ]),
      );
    });
  models
    .command('create <name>')
    .description('create a model')
    .option('--description <text>')
    .option('--task <task>', 'binary_classification or regression', 'binary_classification')
    .action(async (name: string, options: { description?: string; task: string }) => {
      const { api, json } = client();
      const model = await api.call<ModelView>('POST', '/models', {
        name,
        task: options.task,
        description: options.description,
      });
      print(json, model, () => `created model ${model.name}`);
    });

  const evaluationOptions = (command: Command) =>
    command
      .requiredOption('--data <uri>', 'labelled rows in the artifact store (s3://… or file:///…)')
      .option('--request-id <id>', 'idempotency key (default: generated)')
      .option('--golden <uri>', 'golden set every candidate and the champion are also scored on')
      .option('--gates <json>', 'gates by metric, e.g. {"roc_auc":{"threshold":0.8,"greaterIsBetter":true}}')
      .option('--auto', 'promote to champion as soon as the gates pass')
      .option('--no-wait', 'return once the run is accepted');

  type EvaluationOptions = {
    data: string;
    requestId?: string;
    golden?: string;
    gates?: string;
    auto?: boolean;
    wait: boolean;
  };
  const evaluationBody = (options: EvaluationOptions) => ({
    requestId: options.requestId ?? `cli-${Date.now().toString(36)}`,
    data: { uri: options.data },
    ...(options.golden ? { goldenSetUri: options.golden } : {}),
    ...(options.gates ? { gates: jsonOption('gates', options.gates) } : {}),
    policy: { mode: options.auto ? 'auto' : 'manual', promoteFirstVersion: true },
  });
  const startAndMaybeWait = async (path: string, body: unknown, wait: boolean) => {
    const { api, json } = client();
    const run = await api.call<TrainingRunView>('POST', path, body);
    const final =
      wait && run.state === 'running'
        ? await waitForTraining(api, run.id, json ? () => undefined : out)
        : run;
    print(json, final, () => describeTraining(final));
    if (final.state === 'failed' || final.state === 'rejected') process.exitCode = 4;
  };

  evaluationOptions(
    program
      .command('train <model>')
      .description('train a version with a registered trainer, evaluate it against the champion and gate it')
      .option('--trainer <name>', 'a trainer registered with the worker', 'reference-sklearn')
      .option('--params <json>', 'trainer hyperparameters as JSON'),
  ).action(async (model: string, options: EvaluationOptions & { trainer: string; params?: string }) => {
    await startAndMaybeWait(
      `/models/${model}/trainings`,
      {
        ...evaluationBody(options),
        trainer: { name: options.trainer, params: jsonOption('params', options.params) ?? {} },
      },
      options.wait,
    );
  });

  evaluationOptions(
    program
      .command('import <model>')
      .description(
        'bring your own run: register the ONNX model of an MLflow run, evaluated and gated like any other',
      )
      .requiredOption('--run <id>', 'MLflow run id')
      .option('--artifact <path>', 'path of the .onnx file in the run', 'model/model.onnx'),
  ).action(async (model: string, options: EvaluationOptions & { run: string; artifact: string }) => {
    await startAndMaybeWait(
      `/models/${model}/imports`,
      { ...evaluationBody(options), mlflowRunId: options.run, artifactPath: options.artifact },
      options.wait,
    );
  });

  program
    .command('trainings <model>')
    .description('training runs of a model')
    .action(async (model: string) => {
      const { api, json } = client();
      const result = await api.call<{ trainings: TrainingRunView[] }>('GET', `/models/${model}/trainings`);
      print(json, result, () =>
        table([
          ['ID', 'REQUEST', 'STATE', 'STEP', 'VERSION', 'REASON'],
          ...result.trainings.map((t) => [t.id, t.requestId, t.state, t.step, t.version, t.failureReason]),
        ]),
      );
    });

  program
    .command('versions <model>')
    .description('versions of a model, newest first')
    .action(async (model: string) => {
      const { api, json } = client();
      const result = await api.call<{ versions: VersionView[] }>('GET', `/models/${model}/versions`);
      print(json, result, () =>
        table([
          ['VERSION', 'STATE', 'ALIASES', 'ROC_AUC', 'LOG_LOSS', 'REASON'],
          ...result.versions.map((v) => [
            v.version,
            v.state,
            v.aliases.join(','),
            fmt(v.metrics.roc_auc),
            fmt(v.metrics.log_loss),
            v.failureReason,
          ]),
        ]),
      );
    });

  program
    .command('version <model> <version>')
    .description('one version: metrics, gates, artifact, lineage ids')
    .action(async (model: string, version: string) => {
      const { api, json } = client();
      const v = await api.call<VersionView>('GET', `/models/${model}/versions/${version}`);
      print(json, v, () =>
        [
          `${model} v${v.version}: ${v.state}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}`,
          `artifact ${v.artifactUri} sha256 ${v.artifactSha256}`,
          `mlflow run ${v.mlflowRunId ?? '-'}, training set ${v.trainingSetId ?? '-'}`,
          ...(v.evaluation?.gates ?? []).map(
            (g) => `  ${g.passed ? 'pass' : 'FAIL'} ${g.dataset} ${g.message}`,
          ),
          ...(v.failureReason ? [`reason: ${v.failureReason}`] : []),
        ].join('\n'),
      );
    });

  program
    .command('compare <model> <base> <candidate>')
    .description('compare the holdout metrics of two versions')
    .action(async (model: string, base: string, candidate: string) => {
      const { api, json } = client();
      const result = await api.call<{
        metrics: {
          metric: string;
          base: number | null;
          candidate: number | null;
          absoluteChange: number | null;
        }[];
      }>('GET', `/models/${model}/compare?base=${base}&candidate=${candidate}`);
      print(json, result, () =>
        table([
          ['METRIC', `v${base}`, `v${candidate}`, 'CHANGE'],
          ...result.metrics.map((m) => [m.metric, fmt(m.base), fmt(m.candidate), fmt(m.absoluteChange)]),
        ]),
      );
    });

  program
    .command('alias <model> <alias> <version>')
    .description('point an alias (e.g. challenger) at a version')
    .action(async (model: string, alias: string, version: string) => {
      const { api, json } = client();
      const result = await api.call<ModelView>('PUT', `/models/${model}/aliases/${alias}`, {
        version: Number(version),
      });
      print(json, result, () => `${model}: ${alias} → v${result.aliases[alias]}`);
    });

  program
    .command('approve <model> <version>')
    .description('make a validated version the champion (the previous champion is archived)')
    .action(async (model: string, version: string) => {
      const { api, json } = client();
      const v = await api.call<VersionView>('POST', `/models/${model}/versions/${version}/approve`);
      print(json, v, () => `${model} v${v.version} is now champion`);
    });

  program
    .command('reject <model> <version>')
    .description('reject a validated version')
    .requiredOption('--reason <text>')
    .action(async (model: string, version: string, options: { reason: string }) => {
      const { api, json } = client();
      const v = await api.call<VersionView>('POST', `/models/${model}/versions/${version}/reject`, {
        reason: options.reason,
      });
      print(json, v, () => `${model} v${v.version} rejected`);
    });

  const audit = program.command('audit').description("the project's hash-chained audit log (admin)");
  audit
    .command('verify')
    .description(
      'recompute the hash chain; exits 5 and names the first broken entry when it was tampered with',
    )
    .action(async () => {
      const { api, json } = client();
      const result = await api.call<{ ok: boolean; checked: number; brokenAt?: number; reason?: string }>(
        'GET',
        '/audit/verify',
      );
      print(json, result, () =>
        result.ok
          ? `audit chain intact: ${result.checked} entries`
          : `audit chain BROKEN at entry ${result.brokenAt}: ${result.reason}`,
      );
      if (!result.ok) process.exitCode = 5;
    });
  audit
    .command('export')
    .description('print the whole audit log as JSON, oldest first, with its verification')
    .action(async () => {
      const { api } = client();
      out(JSON.stringify(await api.call('GET', '/audit/export'), null, 2));
    });

  const tokens = program.command('tokens').description("manage the project's API tokens (admin)");
  tokens
    .command('create <name>')
    .description('create a token; it is printed once')
    .requiredOption('--role <role>', 'viewer, ml-engineer, approver or admin')
    .option('--expires-in-days <days>', 'expiry', (value) => Number(value))
    .action(async (name: string, options: { role: string; expiresInDays?: number }) => {
      const { api, json } = client();
      const created = await api.call<{ id: string; token: string; role: string }>('POST', '/tokens', {
        name,
        role: options.role,
        ...(options.expiresInDays ? { expiresInDays: options.expiresInDays } : {}),
      });
      print(
        json,
        created,
        () =>
          `${created.token}\n(token ${created.id}, role ${created.role}: store it now, it is not shown again)`,
      );
    });
  tokens
    .command('list')
    .description('list tokens (never their secrets)')
    .action(async () => {
      const { api, json } = client();
      const result = await api.call<{
        tokens: {
          id: string;
          name: string;
          role: string;
          prefix: string;
          expiresAt: string | null;
          revokedAt: string | null;
        }[];
      }>('GET', '/tokens');
      print(json, result, () =>
        table([
          ['ID', 'NAME', 'ROLE', 'PREFIX', 'EXPIRES', 'REVOKED'],
          ...result.tokens.map((t) => [t.id, t.name, t.role, t.prefix, t.expiresAt, t.revokedAt]),
        ]),
      );
    });
  tokens
    .command('revoke <id>')
    .description('revoke a token at once')
    .action(async (id: string) => {
      const { api, json } = client();
      const revoked = await api.call<{ id: string; name: string }>('DELETE', `/tokens/${id}`);
      print(json, revoked, () => `revoked ${revoked.name} (${revoked.id})`);
    });

  program
    .command('lineage <kind> <id>')
    .description('where a node came from (default) or, with --downstream, what depends on it')
    .option('--downstream')
    .action(async (kind: string, id: string, options: { downstream?: boolean }) => {
      const { api, json } = client();
      const graph = await api.call<LineageView>(
        'GET',
        `/lineage/${kind}/${encodeURIComponent(id)}?direction=${options.downstream ? 'downstream' : 'upstream'}`,
      );
      print(json, graph, () =>
        graph.edges.length === 0
          ? `no ${graph.direction} lineage for ${kind} ${id}`
          : graph.edges
              .map((e) => `${e.from.kind}:${e.from.id} --${e.relation}--> ${e.to.kind}:${e.to.id}`)
              .join('\n'),
      );
    });
}
