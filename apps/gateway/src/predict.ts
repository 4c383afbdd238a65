import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { OnlineFeaturesResponse, OnlineFeatureVector } from '@shepherd/contracts/features';
import {
  predictBody,
  predictRow,
  type PredictionEvent,
  type PredictionResult,
  type PredictBody,
  type PredictRow,
} from '@shepherd/contracts/serving';
import { ShepherdError } from '@shepherd/core/errors';
import type { Logger } from '@shepherd/core/logger';
import type { Database } from '@shepherd/db/client';
import { getOnlineFeatures } from '@shepherd/features/online';
import type { RoutedEndpoint, RoutingTable, ServedVersion } from './config.ts';
import {
  describeProblems,
  encodeRow,
  lacksAny,
  loggedFeatures,
  mergeFeatures,
  type RowProblem,
} from './features.ts';
import type { LoadedModel, ModelCache } from './models.ts';
import { chooseSide, type ServingSide } from './routing.ts';
import type { StatsRecorder, StatsRole } from './stats.ts';

export type OnlineLookup = (
  db: Database,
  projectId: string,
  viewName: string,
  entityIds: readonly string[],
  options: { version?: number },
) => Promise<OnlineFeaturesResponse>;

export interface PredictorDeps {
  db: Database;
  /** The current routing table; undefined until the first load. */
  table: () => RoutingTable | undefined;
  models: ModelCache;
  stats: StatsRecorder;
  /** Takes a log event without waiting; false when it had to shed it. */
  offerLog: (event: PredictionEvent) => boolean;
  logger: Logger;
  faultInjection: boolean;
  onlineLookup?: OnlineLookup;
  /** Shadow runs at once at most; beyond it a request's copy is skipped (and counted). */
  maxShadowInFlight?: number;
}

export interface PredictOutcome {
  endpoint: string;
  predictions: PredictionResult[];
}

/** A side of the split as this request serves it: the model, and the role its stats count under. */
interface Serving {
  role: ServingSide;
  version: ServedVersion;
  model: LoadedModel;
}

interface Group {
  serving: Serving;
  rowIndexes: number[];
}

const [, batchBody] = predictBody.options;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The request path: route each row (sticky split), gather its features, run each version's rows in
 * one ONNX call, answer; then, off the answer's path, log, count and mirror to a shadow candidate.
 */
export class Predictor {
  private shadowInFlight = new Set<Promise<void>>();
  shadowSkipped = 0;

  constructor(private readonly deps: PredictorDeps) {}

  /** The endpoint a request names, in the caller's project; 404 for another project's, as if absent. */
  route(projectId: string, endpointName: string): RoutedEndpoint {
    const table = this.deps.table();
    if (!table)
      throw new ShepherdError('upstream_unavailable', 'the gateway has not loaded its configuration yet');
    const routed = table.byProject.get(projectId)?.get(endpointName);
    if (!routed) throw new ShepherdError('not_found', `endpoint ${endpointName} does not exist`);
    return routed;
  }

  async predict(routed: RoutedEndpoint, body: unknown, elapsedMs: () => number): Promise<PredictOutcome> {
    // Parsed against the member the body means, so the caller reads that member's own message
    // ("each row needs an entityId, features, or both") rather than the union's "Invalid input".
    const isBatch = typeof body === 'object' && body !== null && 'rows' in body;
    const parsed = (isBatch ? batchBody : predictRow).safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({
        path: ['body', ...issue.path.map(String)].join('.'),
        message: issue.message,
      }));
      throw new ShepherdError(
        'validation_failed',
        issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
        { details: { issues } },
      );
    }
    const data = parsed.data as PredictBody;
    const rows: PredictRow[] = 'rows' in data ? data.rows : [data];
    const { config } = routed;

    const sides = rows.map((row) => this.side(routed, row.entityId));
    let servings: Map<ServingSide, Serving>;
    try {
      servings = await this.resolveServings(routed, new Set(sides));
    } catch (err) {
      // No model could serve: these rows failed on the versions they were meant for.
      this.countFailed(
        routed,
        sides.map((side) => ({
          role: side,
          version: side === 'champion' ? routed.champion : routed.candidate,
        })),
        elapsedMs(),
        err,
      );
      throw err;
    }
    const shadow = this.shadowFor(routed);

    let merged: Awaited<ReturnType<Predictor['features']>>;
    try {
      merged = await this.features(
        routed,
        rows,
        sides.map((side) => servings.get(side)!),
        shadow,
      );
    } catch (err) {
      this.countFailed(
        routed,
        sides.map((side) => servings.get(side)!),
        elapsedMs(),
        err,
      );
      throw err;
    }

    // One matrix per version, rows in their original order within it.
    const groups = new Map<string, Group>();
    sides.forEach((side, index) => {
      const serving = servings.get(side)!;
      let group = groups.get(serving.version.id);
      if (!group) groups.set(serving.version.id, (group = { serving, rowIndexes: [] }));
      group.rowIndexes.push(index);
    });
    const problems: RowProblem[] = [];
    const matrices = new Map<string, Float32Array>();
    for (const [versionId, group] of groups) {
      const names = group.serving.model.featureNames;
      const matrix = new Float32Array(group.rowIndexes.length * names.length);
      group.rowIndexes.forEach((rowIndex, position) => {
        const problem = encodeRow(merged.features[rowIndex]!, names, matrix, position * names.length);
        if (problem) {
          const entityId = rows[rowIndex]!.entityId ?? null;
          problems.push({
            row: rowIndex,
            entityId,
            ...problem,
            ...(merged.notFound.has(rowIndex) ? { entityNotFound: true } : {}),
          });
        }
      });
      matrices.set(versionId, matrix);
    }
    if (problems.length > 0) {
      problems.sort((a, b) => a.row - b.row);
      throw new ShepherdError('unprocessable', describeProblems(problems, config.featureView?.name ?? null), {
        details: { rows: problems },
      });
    }

    const outcomes = await Promise.all(
      [...groups.values()].map(async (group) => {
        try {
          const outputs = await this.run(
            group.serving,
            matrices.get(group.serving.version.id)!,
            group.rowIndexes.length,
          );
          return { group, outputs, error: undefined };
        } catch (err) {
          return { group, outputs: undefined, error: err };
        }
      }),
    );
    const failed = outcomes.find((outcome) => outcome.error !== undefined);
    const latencyMs = elapsedMs();
    const status = failed ? 500 : 200;
    for (const outcome of outcomes) {
      const { serving, rowIndexes } = outcome.group;
      this.deps.stats.record(this.subject(routed, serving.version, serving.role), {
        count: rowIndexes.length,
        errors: outcome.error !== undefined ? rowIndexes.length : 0,
        latencyMs,
        status,
        ...(outcome.outputs ? { predictions: outcome.outputs } : {}),
      });
    }
    if (failed) {
      const err = failed.error;
      const { version } = failed.group.serving;
      if (err instanceof ShepherdError && err.code === 'internal') throw err;
      throw new ShepherdError(
        'internal',
        `version ${version.version} of model ${version.modelName} failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }

    const predictions = new Array<PredictionResult>(rows.length);
    const at = new Date().toISOString();
    for (const { group, outputs } of outcomes) {
      const { serving, rowIndexes } = group;
      rowIndexes.forEach((rowIndex, position) => {
        const prediction = outputs![position]!;
        const entityId = rows[rowIndex]!.entityId ?? null;
        const predictionId = randomUUID();
        predictions[rowIndex] = {
          predictionId,
          entityId,
          prediction,
          label: serving.version.task !== 'regression' ? (prediction >= 0.5 ? 1 : 0) : null,
          model: serving.version.modelName,
          version: serving.version.version,
          role: serving.role,
        };
        this.deps.offerLog({
          schemaVersion: 1,
          predictionId,
          projectId: config.projectId,
          endpoint: config.name,
          model: serving.version.modelName,
          versionId: serving.version.id,
          version: serving.version.version,
          role: serving.role,
          entityId,
          features: loggedFeatures(merged.features[rowIndex]!, serving.model.featureNames),
          prediction,
          latencyMs,
          at,
        });
      });
    }

    if (shadow) this.mirror(routed, shadow, rows, merged.features);
    return { endpoint: config.name, predictions };
  }

  /** Waits for the shadow runs in flight (at shutdown, so their stats and log lines are kept). */
  async drain(): Promise<void> {
    while (this.shadowInFlight.size > 0) await Promise.all([...this.shadowInFlight]);
  }

  private side(routed: RoutedEndpoint, entityId: string | undefined): ServingSide {
    const { config, champion, candidate } = routed;
    if (!champion) return 'candidate';
    if (!candidate || config.mode === 'shadow') return 'champion';
    return chooseSide(config.id, entityId, config.candidateWeight);
  }

  /**
   * The model for each side the rows need. A side whose model is still loading (a change just
   * arrived) or failed to load is served by the other side when that one is ready, so a traffic
   * shift never fails a request; only when neither side can serve does the request fail, naming why.
   */
  private async resolveServings(
    routed: RoutedEndpoint,
    sides: ReadonlySet<ServingSide>,
  ): Promise<Map<ServingSide, Serving>> {
    const servings = new Map<ServingSide, Serving>();
    const versionOf = (side: ServingSide) => (side === 'champion' ? routed.champion : routed.candidate);
    for (const side of sides) {
      const version = versionOf(side);
      const otherSide: ServingSide = side === 'champion' ? 'candidate' : 'champion';
      const other = versionOf(otherSide);
      if (!version) {
        if (!other) {
          throw new ShepherdError(
            'upstream_unavailable',
            `endpoint ${routed.config.name} has no version to serve`,
          );
        }
        servings.set(side, await this.serving(otherSide, other));
        continue;
      }
      const ready = this.deps.models.ready(version.id);
      if (ready) {
        servings.set(side, { role: side, version, model: ready });
        continue;
      }
      const otherReady = other ? this.deps.models.ready(other.id) : undefined;
      if (other && otherReady) {
        // Warm the intended version for the next requests while this one is served by the other.
        void this.deps.models.load(version).catch(() => undefined);
        servings.set(side, { role: otherSide, version: other, model: otherReady });
        continue;
      }
      try {
        servings.set(side, await this.serving(side, version));
      } catch (err) {
        if (!other) throw err;
        servings.set(side, await this.serving(otherSide, other));
      }
    }
    return servings;
  }

  private async serving(role: ServingSide, version: ServedVersion): Promise<Serving> {
    return { role, version, model: await this.deps.models.load(version) };
  }

  /** The shadow candidate when the endpoint is in shadow mode and its model is ready. */
  private shadowFor(routed: RoutedEndpoint): Serving | undefined {
    const { config, candidate } = routed;
    if (config.mode !== 'shadow' || !candidate) return undefined;
    const model = this.deps.models.ready(candidate.id);
    if (!model) {
      void this.deps.models.load(candidate).catch(() => undefined);
      return undefined;
    }
    return { role: 'candidate', version: candidate, model };
  }

  /**
   * Each row's features by name. The online store is asked, in one query, only for rows that
   * have an entity id and lack some feature a model needs: a caller that sends every feature
   * costs no database round trip.
   */
  private async features(
    routed: RoutedEndpoint,
    rows: readonly PredictRow[],
    servings: readonly Serving[],
    shadow: Serving | undefined,
  ): Promise<{ features: Record<string, unknown>[]; notFound: Set<number> }> {
    const view = routed.config.featureView;
    const lookups: string[] = [];
    const needs = rows.map((row, index) => {
      if (!view || row.entityId === undefined) return false;
      const need =
        lacksAny(row.features, servings[index]!.model.featureNames) ||
        (shadow !== undefined && lacksAny(row.features, shadow.model.featureNames));
      if (need) lookups.push(row.entityId);
      return need;
    });
    let vectors: Map<string, OnlineFeatureVector> | undefined;
    if (view && lookups.length > 0) {
      const lookup = this.deps.onlineLookup ?? getOnlineFeatures;
      try {
        const response = await lookup(this.deps.db, routed.config.projectId, view.name, lookups, {
          ...(view.version === null ? {} : { version: view.version }),
        });
        vectors = new Map(response.vectors.map((vector) => [vector.entityId, vector]));
      } catch (err) {
        // The endpoint's view is the operator's concern, not the caller's: never a 4xx.
        throw new ShepherdError(
          'upstream_unavailable',
          `online features of view ${view.name} for endpoint ${routed.config.name} are unavailable: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    }
    const notFound = new Set<number>();
    const features = rows.map((row, index) => {
      if (!needs[index]) return row.features ?? {};
      const vector = vectors?.get(row.entityId!);
      if (!vector?.found) notFound.add(index);
      return mergeFeatures(vector, row.features);
    });
    return { features, notFound };
  }

  private async run(serving: Serving, matrix: Float32Array, nRows: number): Promise<Float32Array> {
    const faults = this.deps.faultInjection ? serving.version.faults : undefined;
    if (faults && faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults && faults.errorRate > 0) {
      for (let i = 0; i < nRows; i++) {
        if (Math.random() < faults.errorRate) {
          throw new ShepherdError(
            'internal',
            `injected fault on version ${serving.version.version} of model ${serving.version.modelName} (shepherd.fault.error_rate=${faults.errorRate})`,
          );
        }
      }
    }
    const outputs = await serving.model.run(matrix, nRows);
    if (faults && faults.predictionShift !== 0) {
      const clamp = serving.version.task !== 'regression';
      for (let i = 0; i < outputs.length; i++) {
        const shifted = outputs[i]! + faults.predictionShift;
        outputs[i] = clamp ? Math.min(Math.max(shifted, 0), 1) : shifted;
      }
    }
    return outputs;
  }

  /**
   * The shadow candidate gets a copy of the request once the answer is on its way: it runs on the
   * next turn of the event loop, its outputs are counted (role `shadow`) and logged, never returned.
   */
  private mirror(
    routed: RoutedEndpoint,
    shadow: Serving,
    rows: readonly PredictRow[],
    features: readonly Record<string, unknown>[],
  ): void {
    if (this.shadowInFlight.size >= (this.deps.maxShadowInFlight ?? 64)) {
      this.shadowSkipped += rows.length;
      return;
    }
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.runShadow(routed, shadow, rows, features))
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'shadow run failed'));
    this.shadowInFlight.add(task);
    void task.finally(() => this.shadowInFlight.delete(task));
  }

  private async runShadow(
    routed: RoutedEndpoint,
    shadow: Serving,
    rows: readonly PredictRow[],
    features: readonly Record<string, unknown>[],
  ): Promise<void> {
    const started = performance.now();
    const names = shadow.model.featureNames;
    const matrix = new Float32Array(rows.length * names.length);
    const encodable: number[] = [];
    const skipped: number[] = [];
    rows.forEach((_, index) => {
      const target = encodable.length * names.length;
      if (encodeRow(features[index]!, names, matrix, target)) skipped.push(index);
      else encodable.push(index);
    });
    const subject = this.subject(routed, shadow.version, 'shadow');
    let outputs: Float32Array | undefined;
    let failed = false;
    if (encodable.length > 0) {
      try {
        outputs = await this.run(
          shadow,
          matrix.subarray(0, encodable.length * names.length),
          encodable.length,
        );
      } catch (err) {
        failed = true;
        this.deps.logger.debug({ err, versionId: shadow.version.id }, 'shadow candidate failed');
      }
    }
    const latencyMs = performance.now() - started;
    // Rows the candidate cannot even encode (it needs a feature the endpoint does not provide) are
    // its failures too: promoting it would fail those requests.
    const errors = (failed ? encodable.length : 0) + skipped.length;
    this.deps.stats.record(subject, {
      count: rows.length,
      errors,
      latencyMs,
      status: errors > 0 ? 500 : 200,
      ...(outputs ? { predictions: outputs } : {}),
    });
    if (!outputs) return;
    const at = new Date().toISOString();
    encodable.forEach((rowIndex, position) => {
      this.deps.offerLog({
        schemaVersion: 1,
        predictionId: randomUUID(),
        projectId: routed.config.projectId,
        endpoint: routed.config.name,
        model: shadow.version.modelName,
        versionId: shadow.version.id,
        version: shadow.version.version,
        role: 'shadow',
        entityId: rows[rowIndex]!.entityId ?? null,
        features: loggedFeatures(features[rowIndex]!, names),
        prediction: outputs[position]!,
        latencyMs,
        at,
      });
    });
  }

  /** Counts rows that failed before any model ran (5xx), under the version each was meant for. */
  private countFailed(
    routed: RoutedEndpoint,
    rows: readonly { role: ServingSide; version: ServedVersion | null }[],
    latencyMs: number,
    err: unknown,
  ): void {
    const status = err instanceof ShepherdError ? err.status : 500;
    // The caller's mistakes are not the versions' errors.
    if (status < 500) return;
    const counts = new Map<string, { role: ServingSide; version: ServedVersion; count: number }>();
    for (const { role, version } of rows) {
      if (!version) continue;
      const key = `${version.id}|${role}`;
      const entry = counts.get(key);
      if (entry) entry.count += 1;
      else counts.set(key, { role, version, count: 1 });
    }
    for (const { role, version, count } of counts.values()) {
      this.deps.stats.record(this.subject(routed, version, role), {
        count,
        errors: count,
        latencyMs,
        status,
      });
    }
  }

  private subject(routed: RoutedEndpoint, version: ServedVersion, role: StatsRole) {
    return {
      projectId: routed.config.projectId,
      endpointId: routed.config.id,
      endpoint: routed.config.name,
      versionId: version.id,
      version: version.version,
      role,
    };
  }
}
