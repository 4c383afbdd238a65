import type { ArtifactStore } from '@shepherd/artifacts/types';
import type { KafkaOptions } from '@shepherd/clients/kafka';
import { predictionsTopic } from '@shepherd/contracts/serving';
import type { Logger } from '@shepherd/core/logger';
import type { Database } from '@shepherd/db/client';
import { TokenCache } from '@shepherd/registry/token-cache';
import { buildGateway } from './app.ts';
import { ConfigWatcher } from './config.ts';
import { ModelCache } from './models.ts';
import { producerThreads } from './kafka-thread.ts';
import { OnlineFeatureReader } from './online.ts';
import { PredictionLog } from './prediction-log.ts';
import { Predictor, type OnlineLookup } from './predict.ts';
import { StatsRecorder } from './stats.ts';

export interface GatewayOptions {
  db: Database;
  artifacts: ArtifactStore;
  /** For the prediction log's producer, which runs on a thread of its own (kafka-thread.ts). */
  kafka: KafkaOptions;
  logger: Logger;
  gatewayId: string;
  /** GATEWAY_LOG_BUFFER. */
  logBuffer: number;
  /** GATEWAY_CONFIG_POLL_MS. */
  configPollMs: number;
  /** GATEWAY_FAULT_INJECTION. */
  faultInjection: boolean;
  /** Default `predictions` (contracts); tests use a topic of their own. */
  predictionsTopic?: string;
  statsFlushMs?: number;
  /** How long a checked token is trusted before PostgreSQL is asked again (revocations land within it). */
  tokenCacheMs?: number;
  onlineLookup?: OnlineLookup;
  /** Threads per ONNX session run. */
  intraOpNumThreads?: number;
}

export type Gateway = Awaited<ReturnType<typeof startGateway>>;

/**
 * Builds a gateway with its background parts running: the routing table is loaded and its models
 * warmed before this resolves, so a (re)started gateway never answers with less than its
 * configuration. Call `listen` on `app`, and `close` to stop everything in order.
 */
export async function startGateway(options: GatewayOptions) {
  const { db, logger } = options;
  const models = new ModelCache({
    artifacts: options.artifacts,
    logger,
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  });
  const watcher = new ConfigWatcher({
    db,
    logger,
    pollMs: options.configPollMs,
    faultInjection: options.faultInjection,
    // Sessions for every served version start loading as soon as a change is seen; until a new
    // version is ready its traffic is served by the other side (see Predictor.resolveServings).
    onChange: (table) => void models.retain(table.versions.values()),
  });
  const stats = new StatsRecorder({ db, gatewayId: options.gatewayId, logger });
  const log = new PredictionLog({
    kafka: producerThreads(options.kafka),
    topic: options.predictionsTopic ?? predictionsTopic,
    logger,
    capacity: options.logBuffer,
  });
  const predictor = new Predictor({
    db,
    table: () => watcher.table,
    models,
    stats,
    offerLog: (event) => log.offer(event),
    logger,
    faultInjection: options.faultInjection,
    onlineLookup: options.onlineLookup ?? new OnlineFeatureReader(db).lookup,
  });
  const tokens = new TokenCache(db, options.tokenCacheMs);

  const table = await watcher.start();
  await models.retain(table.versions.values());
  log.start();
  stats.start(options.statsFlushMs ?? 1000);

  const app = buildGateway({
    logger,
    predictor,
    authenticate: (token) => tokens.get(token),
    table: () => watcher.table,
    stats,
    logCounters: () => log.stats(),
    modelsLoaded: () => models.loadedCount,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Stop taking requests and finish those in flight, then the shadow copies they started,
      // then write what they counted and logged.
      await app.close();
      await predictor.drain();
      await watcher.stop();
      await stats.stop();
      await log.close();
      await models.close();
      const lost = log.stats();
      logger.info(
        { shed: lost.shed, droppedAtShutdown: lost.droppedAtShutdown, sent: lost.sent },
        'gateway stopped',
      );
    })());

  return { app, predictor, watcher, models, stats, log, close };
}
