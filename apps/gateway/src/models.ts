import type { ArtifactStore } from '@shepherd/artifacts/types';
import { ShepherdError } from '@shepherd/core/errors';
import type { Logger } from '@shepherd/core/logger';
import { loadModel, type Model } from '@shepherd/evaluation/model';
import type { ServedVersion } from './config.ts';

/** A loaded version: one ONNX session, ready for `run`. */
export interface LoadedModel {
  version: ServedVersion;
  featureNames: readonly string[];
  /** One output per row: the positive-class probability, or the regression value. */
  run(rows: Float32Array, nRows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

type Entry =
  | { state: 'loading'; promise: Promise<LoadedModel> }
  | { state: 'ready'; model: LoadedModel; promise: Promise<LoadedModel> }
  | { state: 'failed'; error: ShepherdError; failedAt: number; promise: Promise<LoadedModel> };

export interface ModelCacheOptions {
  artifacts: ArtifactStore;
  logger: Logger;
  /** Threads one session may use per run. One keeps small models fast under concurrency. */
  intraOpNumThreads?: number;
  /** After a failed load, how long before a request or warm-up may try again (a transient S3 error heals). */
  retryAfterMs?: number;
  /** How long a version no endpoint serves any more stays loaded, for requests still using it. */
  releaseAfterMs?: number;
}

/**
 * ONNX sessions by version id. Each version's artifact is downloaded once and its sha256 checked
 * before ONNX Runtime sees a byte: a mismatching artifact is never loaded, and the error says so.
 */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly releaseTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: ModelCacheOptions) {}

  /** The loaded model if it is ready now; never waits. */
  ready(versionId: string): LoadedModel | undefined {
    const entry = this.entries.get(versionId);
    return entry?.state === 'ready' ? entry.model : undefined;
  }

  /** The load failure of a version, while it stands. */
  failure(versionId: string): ShepherdError | undefined {
    const entry = this.entries.get(versionId);
    return entry?.state === 'failed' ? entry.error : undefined;
  }

  /** Loads (once) and resolves with the model; rejects with the reason it cannot be served. */
  load(version: ServedVersion): Promise<LoadedModel> {
    if (this.closed)
      return Promise.reject(new ShepherdError('upstream_unavailable', 'the gateway is stopping'));
    const entry = this.entries.get(version.id);
    const retryAfterMs = this.options.retryAfterMs ?? 5000;
    if (entry && !(entry.state === 'failed' && Date.now() - entry.failedAt >= retryAfterMs)) {
      return entry.promise;
    }
    const promise = this.open(version).then(
      (model) => {
        if (this.closed) {
          void model.close();
          throw new ShepherdError('upstream_unavailable', 'the gateway is stopping');
        }
        this.entries.set(version.id, { state: 'ready', model, promise });
        this.options.logger.info(
          { versionId: version.id, model: version.modelName, version: version.version },
          'model loaded',
        );
        return model;
      },
      (err: unknown) => {
        const error =
          err instanceof ShepherdError
            ? err
            : new ShepherdError('upstream_unavailable', err instanceof Error ? err.message : String(err));
        const failed = new ShepherdError(
          error.code === 'unprocessable' ? 'internal' : error.code,
          `version ${version.version} of model ${version.modelName} cannot be served: ${error.message}`,
          { cause: err, details: error.details },
        );
        this.entries.set(version.id, { state: 'failed', error: failed, failedAt: Date.now(), promise });
        this.options.logger.error({ err: failed, versionId: version.id }, failed.message);
        throw failed;
      },
    );
    // Rejections are handled by whoever awaits; warm-ups that nobody awaits must not crash the process.
    promise.catch(() => undefined);
    this.entries.set(version.id, { state: 'loading', promise });
    return promise;
  }

  /**
   * Starts loading every version in `versions` and schedules the release of those no longer
   * listed. Called on each configuration change, so a shift of traffic finds its sessions warm.
   */
  retain(versions: Iterable<ServedVersion>): Promise<void> {
    const keep = new Set<string>();
    const loads: Promise<unknown>[] = [];
    for (const version of versions) {
      keep.add(version.id);
      const timer = this.releaseTimers.get(version.id);
      if (timer) {
        clearTimeout(timer);
        this.releaseTimers.delete(version.id);
      }
      loads.push(this.load(version).catch(() => undefined));
    }
    for (const versionId of this.entries.keys()) {
      if (keep.has(versionId) || this.releaseTimers.has(versionId)) continue;
      const timer = setTimeout(() => {
        this.releaseTimers.delete(versionId);
        void this.release(versionId);
      }, this.options.releaseAfterMs ?? 60_000);
      timer.unref();
      this.releaseTimers.set(versionId, timer);
    }
    return Promise.all(loads).then(() => undefined);
  }

  get loadedCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.state === 'ready') count += 1;
    return count;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.releaseTimers.values()) clearTimeout(timer);
    this.releaseTimers.clear();
    await Promise.all([...this.entries.keys()].map((versionId) => this.release(versionId)));
  }

  private async release(versionId: string): Promise<void> {
    const entry = this.entries.get(versionId);
    this.entries.delete(versionId);
    if (entry?.state === 'ready') {
      try {
        await entry.model.close();
      } catch (err) {
        this.options.logger.warn({ err, versionId }, 'closing a model session failed');
      }
    }
  }

  private async open(version: ServedVersion): Promise<LoadedModel> {
    const featureNames = version.featureNames;
    if (featureNames === null || featureNames.length === 0) {
      throw new ShepherdError(
        'internal',
        'it has no training set on record, so the order of its input features is unknown',
      );
    }
    if (version.artifactUri === '' || version.artifactSha256 === '') {
      throw new ShepherdError('internal', 'it has no artifact');
    }
    // getVerified hashes the bytes before returning them: a tampered artifact never reaches ONNX.
    const bytes = await this.options.artifacts.getVerified(version.artifactUri, version.artifactSha256);
    const threads = this.options.intraOpNumThreads ?? 1;
    const model: Model =
      version.task === 'regression'
        ? await loadModel(bytes, { task: 'regression', intraOpNumThreads: threads })
        : await loadModel(bytes, { task: 'binary_classification', intraOpNumThreads: threads });
    if (model.nFeatures !== undefined && model.nFeatures !== featureNames.length) {
      await model.close();
      throw new ShepherdError(
        'internal',
        `its model takes ${model.nFeatures} features but its training set lists ${featureNames.length}`,
      );
    }
    const nFeatures = featureNames.length;
    const run =
      model.task === 'regression'
        ? (rows: Float32Array, nRows: number) => model.predict(rows, nRows, nFeatures)
        : (rows: Float32Array, nRows: number) => model.predictProba(rows, nRows, nFeatures);
    return { version, featureNames, run, close: () => model.close() };
  }
}
