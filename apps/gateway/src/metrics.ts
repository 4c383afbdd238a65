import { latencyBucketBoundsMs } from '@shepherd/contracts/serving';
import type { RoutingTable } from './config.ts';
import type { PredictionLogCounters } from './prediction-log.ts';
import type { StatsRecorder } from './stats.ts';

/** Label values escaped as the text format requires: backslash, double quote, newline. */
const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const labels = (pairs: Record<string, string | number>) =>
  `{${Object.entries(pairs)
    .map(([name, value]) => `${name}="${escape(String(value))}"`)
    .join(',')}}`;

/**
 * Prometheus buckets are every fourth contracts bound (a factor of 2, 50 µs to ~52 s): fine enough
 * for dashboards, 21 series instead of 82. The fine histogram stays in serving_stats.
 */
const exportedBucketIndexes = latencyBucketBoundsMs.map((_, i) => i).filter((i) => i % 4 === 0);

export interface MetricsSources {
  stats: StatsRecorder;
  log: PredictionLogCounters;
  table: RoutingTable | undefined;
  modelsLoaded: number;
  shadowSkipped?: number;
  httpRequests: ReadonlyMap<string, number>;
}

/** The gateway's /metrics in the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(sources: MetricsSources): string {
  const out: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };

  family(
    'shepherd_gateway_http_requests_total',
    'counter',
    'Predict requests by project id, endpoint and HTTP status; 499: the caller had gone before the answer.',
  );
  for (const [key, count] of sources.httpRequests) {
    const [project, endpoint, status] = key.split('\u0000') as [string, string, string];
    out.push(`shepherd_gateway_http_requests_total${labels({ project, endpoint, status })} ${count}`);
  }

  const totals = sources.stats.snapshot();
  family(
    'shepherd_gateway_predictions_total',
    'counter',
    'Predictions (rows) by endpoint, model version, role and the HTTP status of their request; shadow runs count as 200 or 500.',
  );
  for (const total of totals) {
    const { projectId: project, endpoint, version, role } = total.subject;
    for (const [status, count] of total.byStatus) {
      out.push(
        `shepherd_gateway_predictions_total${labels({ project, endpoint, version, role, status })} ${count}`,
      );
    }
  }
  family(
    'shepherd_gateway_prediction_errors_total',
    'counter',
    'Predictions that failed in the model or the gateway (5xx), by endpoint, version and role.',
  );
  for (const total of totals) {
    const { projectId: project, endpoint, version, role } = total.subject;
    out.push(
      `shepherd_gateway_prediction_errors_total${labels({ project, endpoint, version, role })} ${total.errors}`,
    );
  }

  family(
    'shepherd_gateway_request_duration_seconds',
    'histogram',
    'Time from request arrival to answer, per prediction, by endpoint, version and role.',
  );
  for (const total of totals) {
    const { projectId: project, endpoint, version, role } = total.subject;
    let cumulative = 0;
    let next = 0;
    for (const index of exportedBucketIndexes) {
      for (; next <= index; next++) cumulative += total.latencyCounts[next] ?? 0;
      const le = (latencyBucketBoundsMs[index]! / 1000).toPrecision(6);
      out.push(
        `shepherd_gateway_request_duration_seconds_bucket${labels({ project, endpoint, version, role, le })} ${cumulative}`,
      );
    }
    const count = total.latencyCounts.reduce((sum, value) => sum + value, 0);
    out.push(
      `shepherd_gateway_request_duration_seconds_bucket${labels({ project, endpoint, version, role, le: '+Inf' })} ${count}`,
      `shepherd_gateway_request_duration_seconds_sum${labels({ project, endpoint, version, role })} ${total.latencySumMs / 1000}`,
      `shepherd_gateway_request_duration_seconds_count${labels({ project, endpoint, version, role })} ${count}`,
    );
  }

  const log = sources.log;
  family(
    'shepherd_gateway_prediction_log_shed_total',
    'counter',
    'Prediction-log events shed because the buffer was full (Kafka slow or down): missing from the log.',
  );
  out.push(`shepherd_gateway_prediction_log_shed_total ${log.shed}`);
  family(
    'shepherd_gateway_prediction_log_dropped_total',
    'counter',
    'Prediction-log events still buffered when the gateway stopped: missing from the log.',
  );
  out.push(`shepherd_gateway_prediction_log_dropped_total ${log.droppedAtShutdown}`);
  family('shepherd_gateway_prediction_log_sent_total', 'counter', 'Prediction-log events Kafka accepted.');
  out.push(`shepherd_gateway_prediction_log_sent_total ${log.sent}`);
  family(
    'shepherd_gateway_prediction_log_buffered',
    'gauge',
    'Prediction-log events held in memory (queued or being sent).',
  );
  out.push(`shepherd_gateway_prediction_log_buffered ${log.held}`);
  family('shepherd_gateway_prediction_log_capacity', 'gauge', 'GATEWAY_LOG_BUFFER: events held at most.');
  out.push(`shepherd_gateway_prediction_log_capacity ${log.capacity}`);
  family('shepherd_gateway_prediction_log_connected', 'gauge', '1 while the Kafka producer is connected.');
  out.push(`shepherd_gateway_prediction_log_connected ${log.connected ? 1 : 0}`);

  family(
    'shepherd_gateway_stats_pending_rows',
    'gauge',
    'serving_stats rows not yet written (the open second and failed inserts).',
  );
  out.push(`shepherd_gateway_stats_pending_rows ${sources.stats.pendingRows}`);
  family(
    'shepherd_gateway_stats_dropped_rows_total',
    'counter',
    'serving_stats rows given up after PostgreSQL refused them for too long.',
  );
  out.push(`shepherd_gateway_stats_dropped_rows_total ${sources.stats.droppedRows}`);

  family(
    'shepherd_gateway_config_generation',
    'gauge',
    'Routing tables loaded since start; it grows with every endpoint change seen.',
  );
  out.push(`shepherd_gateway_config_generation ${sources.table?.generation ?? 0}`);
  family(
    'shepherd_gateway_config_loaded_timestamp_seconds',
    'gauge',
    'When the current routing table was loaded.',
  );
  out.push(
    `shepherd_gateway_config_loaded_timestamp_seconds ${sources.table ? sources.table.loadedAt.getTime() / 1000 : 0}`,
  );
  family(
    'shepherd_gateway_endpoint_revision',
    'gauge',
    'The revision of each endpoint in the routing table (the control plane bumps it on every change).',
  );
  family(
    'shepherd_gateway_endpoint_candidate_weight',
    'gauge',
    "Percent of traffic on each endpoint's candidate.",
  );
  const revisions: string[] = [];
  const weights: string[] = [];
  for (const project of sources.table?.byProject.values() ?? []) {
    for (const routed of project.values()) {
      const pairs = { project: routed.config.projectId, endpoint: routed.config.name };
      revisions.push(`shepherd_gateway_endpoint_revision${labels(pairs)} ${routed.config.revision}`);
      weights.push(
        `shepherd_gateway_endpoint_candidate_weight${labels({ ...pairs, mode: routed.config.mode })} ${routed.config.candidateWeight}`,
      );
    }
  }
  // Families must not interleave: revisions after their HELP/TYPE, then weights after theirs.
  const weightHeader = out.splice(out.length - 2, 2);
  out.push(...revisions, ...weightHeader, ...weights);

  family(
    'shepherd_gateway_shadow_skipped_total',
    'counter',
    'Rows not mirrored to a shadow candidate because too many shadow runs were in flight.',
  );
  out.push(`shepherd_gateway_shadow_skipped_total ${sources.shadowSkipped ?? 0}`);
  family('shepherd_gateway_models_loaded', 'gauge', 'ONNX sessions loaded and ready.');
  out.push(`shepherd_gateway_models_loaded ${sources.modelsLoaded}`);
  return `${out.join('\n')}\n`;
}
