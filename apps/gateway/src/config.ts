import { inArray, sql } from 'drizzle-orm';
import type { EndpointConfig } from '@shepherd/contracts/serving';
import { modelTasks, type ModelTask } from '@shepherd/contracts/trainer';
import type { Logger } from '@shepherd/core/logger';
import type { Database } from '@shepherd/db/client';
import { endpoints, modelVersions, trainingSets } from '@shepherd/db/schema';
import { endpointConfigs } from '@shepherd/registry/endpoints';
import { parseFaults, type Faults } from './faults.ts';

/** One model version as the gateway serves it: where its bytes are and how to feed it. */
export interface ServedVersion {
  id: string;
  version: number;
  modelName: string;
  task: ModelTask;
  artifactUri: string;
  artifactSha256: string;
  /**
   * The model's input columns in order: its training set's feature names. Null when the version
   * has no training set on record: then there is no safe order and the version is not served.
   */
  featureNames: readonly string[] | null;
  /** Only set when fault injection is on and the version carries valid fault tags. */
  faults: Faults | undefined;
}

export interface RoutedEndpoint {
  config: EndpointConfig;
  champion: ServedVersion | null;
  candidate: ServedVersion | null;
}

/**
 * Everything a request needs to be routed, built once per configuration change and never mutated:
 * a request reads one table from start to end, so it never sees half of a change.
 */
export interface RoutingTable {
  /** Changes whenever any endpoint, or a version an endpoint serves, changes. */
  fingerprint: string;
  /** Counts swaps since start; the /metrics `config_generation`. */
  generation: number;
  loadedAt: Date;
  /** projectId → endpoint name → endpoint. */
  byProject: ReadonlyMap<string, ReadonlyMap<string, RoutedEndpoint>>;
  /** Every version some endpoint serves, by id: what the model cache keeps warm. */
  versions: ReadonlyMap<string, ServedVersion>;
}

/**
 * A cheap digest of the configuration: endpoint ids and revisions (the revision trigger bumps on
 * every update), plus the update times of the versions they serve (fault tags live there). Polled
 * several times a second by every gateway, so it reads two small indexes, nothing else.
 */
export async function configFingerprint(db: Database): Promise<string> {
  const result = await db.execute(sql`
    select
      (select count(*)::text || ':' || coalesce(md5(string_agg(id::text || '@' || revision::text, ',' order by id)), '')
         from endpoints) as endpoints,
      (select coalesce(md5(string_agg(v.id::text || '@' || (extract(epoch from v.updated_at) * 1000000)::bigint::text, ',' order by v.id)), '')
         from model_versions v
         where v.id in (select champion_version_id from endpoints union select candidate_version_id from endpoints)) as versions`);
  const [row] = (result as unknown as { rows: { endpoints: string; versions: string }[] }).rows;
  return `${row?.endpoints ?? ''}/${row?.versions ?? ''}`;
}

/** Loads every project's endpoints and the versions they serve, in one consistent snapshot. */
export async function loadRoutingTable(
  db: Database,
  options: { faultInjection: boolean; logger: Logger; generation: number },
): Promise<RoutingTable> {
  // Repeatable read: the fingerprint and the rows describe the same moment, so a change that lands
  // while loading is seen (as a different fingerprint) on the next poll instead of being half-read.
  return db.transaction(
    async (tx) => {
      const fingerprint = await configFingerprint(tx);
      const rows = await tx.select().from(endpoints);
      const configs = await endpointConfigs(tx, rows);
      const versionIds = [
        ...new Set(
          rows.flatMap((row) => [row.championVersionId, row.candidateVersionId]).filter((id) => id !== null),
        ),
      ];
      const versionRows =
        versionIds.length === 0
          ? []
          : await tx
              .select({
                id: modelVersions.id,
                version: modelVersions.version,
                artifactUri: modelVersions.artifactUri,
                artifactSha256: modelVersions.artifactSha256,
                trainingSetId: modelVersions.trainingSetId,
                tags: modelVersions.tags,
              })
              .from(modelVersions)
              .where(inArray(modelVersions.id, versionIds));
      const setIds = [
        ...new Set(versionRows.map((row) => row.trainingSetId).filter((id): id is string => id !== null)),
      ];
      const setRows =
        setIds.length === 0
          ? []
          : await tx
              .select({ id: trainingSets.id, featureNames: trainingSets.featureNames })
              .from(trainingSets)
              .where(inArray(trainingSets.id, setIds));
      const featureNamesBySet = new Map(setRows.map((row) => [row.id, row.featureNames]));
      const versionRowById = new Map(versionRows.map((row) => [row.id, row]));

      const versions = new Map<string, ServedVersion>();
      const served = (config: EndpointConfig, versionId: string | undefined): ServedVersion | null => {
        if (versionId === undefined) return null;
        const existing = versions.get(versionId);
        if (existing) return existing;
        const row = versionRowById.get(versionId);
        if (!row) return null;
        const task = (modelTasks as readonly string[]).includes(config.task)
          ? (config.task as ModelTask)
          : 'binary_classification';
        let faults: Faults | undefined;
        if (options.faultInjection) {
          const parsed = parseFaults(row.tags);
          faults = parsed.faults;
          for (const problem of parsed.problems) {
            options.logger.warn({ versionId, endpoint: config.name }, `fault tag: ${problem}`);
          }
        }
        const version: ServedVersion = {
          id: row.id,
          version: row.version,
          modelName: config.modelName,
          task,
          artifactUri: row.artifactUri,
          artifactSha256: row.artifactSha256,
          featureNames:
            row.trainingSetId === null ? null : (featureNamesBySet.get(row.trainingSetId) ?? null),
          faults,
        };
        versions.set(row.id, version);
        return version;
      };

      const byProject = new Map<string, Map<string, RoutedEndpoint>>();
      for (const config of configs) {
        const routed: RoutedEndpoint = {
          config,
          champion: served(config, config.champion?.versionId),
          candidate: served(config, config.candidate?.versionId),
        };
        let project = byProject.get(config.projectId);
        if (!project) byProject.set(config.projectId, (project = new Map()));
        project.set(config.name, routed);
      }
      return { fingerprint, generation: options.generation, loadedAt: new Date(), byProject, versions };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

export interface ConfigWatcherOptions {
  db: Database;
  logger: Logger;
  pollMs: number;
  faultInjection: boolean;
  /** Called with each new table after it is in place (e.g. to warm its models); errors are logged. */
  onChange?: (table: RoutingTable, previous: RoutingTable | undefined) => void;
}

/**
 * Keeps the current routing table: loads it once before the gateway listens, then polls the
 * fingerprint and swaps in a fresh table when it changes. A failed poll keeps the last table: a
 * gateway that cannot reach PostgreSQL keeps serving what it knew.
 */
export class ConfigWatcher {
  private current: RoutingTable | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private failures = 0;
  lastPollAt: Date | undefined;
  lastError: string | undefined;

  constructor(private readonly options: ConfigWatcherOptions) {}

  get table(): RoutingTable | undefined {
    return this.current;
  }

  /** Loads the first table (failing loudly when it cannot), then polls in the background. */
  async start(): Promise<RoutingTable> {
    const table = await loadRoutingTable(this.options.db, {
      faultInjection: this.options.faultInjection,
      logger: this.options.logger,
      generation: 1,
    });
    this.swap(table);
    this.schedule();
    return table;
  }

  /**
   * Checks for a change now (tests and the poll loop). A poll already under way may have read the
   * configuration before the caller's change, so this one runs after it rather than joining it.
   */
  poll(): Promise<void> {
    const next = (this.polling ?? Promise.resolve()).then(() => this.pollOnce());
    this.polling = next;
    void next.finally(() => {
      if (this.polling === next) this.polling = undefined;
    });
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  private schedule(): void {
    if (this.stopped) return;
    // Back off while PostgreSQL fails, up to 5 s, so a database outage is not hammered by every gateway.
    const delay = Math.min(this.options.pollMs * 2 ** Math.min(this.failures, 5), 5000);
    this.timer = setTimeout(() => {
      void this.poll().finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  private async pollOnce(): Promise<void> {
    try {
      const fingerprint = await configFingerprint(this.options.db);
      this.lastPollAt = new Date();
      if (fingerprint !== this.current?.fingerprint) {
        const table = await loadRoutingTable(this.options.db, {
          faultInjection: this.options.faultInjection,
          logger: this.options.logger,
          generation: (this.current?.generation ?? 0) + 1,
        });
        if (!this.stopped) this.swap(table);
      }
      if (this.failures > 0) this.options.logger.info('endpoint configuration reachable again');
      this.failures = 0;
      this.lastError = undefined;
    } catch (err) {
      this.failures += 1;
      this.lastError = err instanceof Error ? err.message : String(err);
      // Once per outage at warn, then quietly: the last table keeps serving meanwhile.
      if (this.failures === 1) {
        this.options.logger.warn({ err }, 'cannot poll endpoint configuration; serving the last one');
      }
    }
  }

  private swap(table: RoutingTable): void {
    const previous = this.current;
    this.current = table;
    let endpointCount = 0;
    for (const project of table.byProject.values()) endpointCount += project.size;
    this.options.logger.info(
      { generation: table.generation, endpoints: endpointCount, versions: table.versions.size },
      'endpoint configuration loaded',
    );
    try {
      this.options.onChange?.(table, previous);
    } catch (err) {
      this.options.logger.error({ err }, 'reacting to a configuration change failed');
    }
  }
}
