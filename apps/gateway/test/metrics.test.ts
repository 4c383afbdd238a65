import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Database } from '@shepherd/db/client';
import { renderMetrics } from '../src/metrics.ts';
import { StatsRecorder } from '../src/stats.ts';

describe('Prometheus exposition', () => {
  it('writes well-formed families with cumulative histograms and escaped labels', () => {
    const stats = new StatsRecorder({
      db: {} as Database,
      gatewayId: 'gw',
      logger: pino({ level: 'silent' }),
    });
    const subject = {
      projectId: 'p',
      endpointId: 'e',
      endpoint: 'fraud "eu"',
      versionId: 'v',
      version: 3,
      role: 'candidate' as const,
    };
    stats.record(subject, { count: 1, errors: 0, latencyMs: 0.3, status: 200, predictions: [0.4] });
    stats.record(subject, { count: 2, errors: 2, latencyMs: 70, status: 500 });
    const text = renderMetrics({
      stats,
      log: {
        shed: 4,
        droppedAtShutdown: 0,
        sent: 10,
        held: 2,
        capacity: 100,
        sendFailures: 1,
        connected: true,
      },
      table: undefined,
      modelsLoaded: 1,
      httpRequests: new Map([['p\u0000fraud\u0000200', 5]]),
    });
    const lines = text.trimEnd().split('\n');
    for (const line of lines) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="([^"\\]|\\.)*",?)*\})? -?[\d.e+-]+|\w+\{.*\} \d+)$/,
      );
    }
    // Each family's samples follow its own HELP and TYPE.
    const types = lines.filter((line) => line.startsWith('# TYPE')).map((line) => line.split(' ')[2]);
    expect(new Set(types).size).toBe(types.length);
    expect(text).toContain(
      'shepherd_gateway_predictions_total{project="p",endpoint="fraud \\"eu\\"",version="3",role="candidate",status="500"} 2',
    );
    expect(text).toContain(
      'shepherd_gateway_prediction_errors_total{project="p",endpoint="fraud \\"eu\\"",version="3",role="candidate"} 2',
    );
    const buckets = lines
      .filter((line) => line.startsWith('shepherd_gateway_request_duration_seconds_bucket'))
      .map((line) => Number(line.split(' ').at(-1)));
    expect(buckets.every((count, i) => i === 0 || count >= buckets[i - 1]!)).toBe(true);
    expect(buckets.at(-1)).toBe(3);
    expect(text).toContain('le="0.000400000"} 1');
    expect(text).toContain('shepherd_gateway_prediction_log_shed_total 4');
    expect(text).toContain('shepherd_gateway_prediction_log_buffered 2');
    expect(text).toContain(
      'shepherd_gateway_http_requests_total{project="p",endpoint="fraud",status="200"} 5',
    );
  });
});
