import { eq } from 'drizzle-orm';
import { createKafka } from '@shepherd/clients/kafka';
import { runMain } from '@shepherd/core/env';
import { createLogger } from '@shepherd/core/logger';
import { createDb } from '@shepherd/db/client';
import { migrate } from '@shepherd/db/migrate';
import { projects } from '@shepherd/db/schema';
import { loadIngestEnv } from './env.ts';
import { FeatureIngestor } from './ingest.ts';
import {
  getFeatureView,
  listFeatureViews,
  registerFeatureView,
  type RegisteredFeatureView,
} from './registry.ts';
import { featureViewCatalog } from './views.ts';

/**
 * The feature ingestion process: registers the views declared in code (refusing to start when one
 * changed without a new version), then runs one consumer group per selected view until SIGTERM.
 */
runMain('feature-ingest', async () => {
  const env = loadIngestEnv();
  const logger = createLogger('feature-ingest', env.LOG_LEVEL);
  const database = await createDb({ databaseUrl: env.DATABASE_URL, logger });
  await migrate(database.db);

  await database.db
    .insert(projects)
    .values({ slug: env.SHEPHERD_PROJECT, name: env.SHEPHERD_PROJECT })
    .onConflictDoNothing({ target: projects.slug });
  const [project] = await database.db.select().from(projects).where(eq(projects.slug, env.SHEPHERD_PROJECT));
  if (!project) throw new Error(`project '${env.SHEPHERD_PROJECT}' could not be created`);

  const ctx = { db: database.db, projectId: project.id, actor: 'feature-ingest' };
  for (const view of featureViewCatalog) {
    const { created } = await registerFeatureView(ctx, view);
    if (created) logger.info({ view: view.name, version: view.version }, 'feature view registered');
  }

  let selected: RegisteredFeatureView[];
  if (env.FEATURE_VIEWS === 'all') {
    const latest = new Map<string, RegisteredFeatureView>();
    for (const registered of await listFeatureViews(database.db, project.id)) {
      latest.set(registered.view.name, registered); // listed by version ascending
    }
    selected = [...latest.values()];
  } else {
    selected = await Promise.all(
      env.FEATURE_VIEWS.map((s) => getFeatureView(database.db, project.id, s.name, s.version)),
    );
  }

  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'shepherd-feature-ingest', retries: 10 });
  const ingestors = selected.map(
    (registered) =>
      new FeatureIngestor({
        kafka,
        db: database.db,
        registered,
        logger,
        maxEventBytes: env.FEATURE_MAX_EVENT_BYTES,
      }),
  );

  let stopping: Promise<void> | undefined;
  const stop = (exitCode: number) =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      await Promise.allSettled(ingestors.map((ingestor) => ingestor.stop()));
      await database.close();
      process.exit(exitCode);
    })());
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  for (const ingestor of ingestors) {
    ingestor.onCrash((error, restart) => {
      if (!restart) {
        logger.fatal({ err: error, topic: ingestor.topic }, 'consumer gave up');
        void stop(1);
      }
    });
  }

  for (const ingestor of ingestors) await ingestor.start();
  logger.info(
    { views: selected.map((r) => `${r.view.name}@${r.view.version}`), project: env.SHEPHERD_PROJECT },
    'feature ingestion running',
  );
});
