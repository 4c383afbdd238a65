import { describe, expect, it } from 'vitest';
import { Registry } from '../src/prometheus.ts';

describe('Prometheus registry', () => {
  it('renders counters, cumulative histograms and scrape-time gauges in the text format', async () => {
    const registry = new Registry();
    const requests = registry.counter('requests_total', 'Requests.');
    const durations = registry.histogram('duration_seconds', 'Durations.', [0.1, 1]);
    registry.gauge('open_alerts', 'Open alerts.', async () => [
      { labels: { severity: 'critical' }, value: 2 },
    ]);
    requests.inc({ route: '/a', status: '200' });
    requests.inc({ status: '200', route: '/a' });
    requests.inc({ route: '/b "quoted"\n', status: '500' });
    durations.observe({ route: '/a' }, 0.05);
    durations.observe({ route: '/a' }, 0.5);
    durations.observe({ route: '/a' }, 3);
    // A bound series is the same series as its labels name.
    requests.with({ status: '200', route: '/a' }).inc(2);
    durations.with({ route: '/a' }).observe(0.5);
    const text = await registry.render();
    expect(text).toContain('# TYPE requests_total counter');
    // Label order does not make a new series.
    expect(text).toContain('requests_total{route="/a",status="200"} 4');
    expect(text).toContain('requests_total{route="/b \\"quoted\\"\\n",status="500"} 1');
    expect(text).toContain('duration_seconds_bucket{route="/a",le="0.1"} 1');
    expect(text).toContain('duration_seconds_bucket{route="/a",le="1"} 3');
    expect(text).toContain('duration_seconds_bucket{route="/a",le="+Inf"} 4');
    expect(text).toContain('duration_seconds_sum{route="/a"} 4.05');
    expect(text).toContain('duration_seconds_count{route="/a"} 4');
    expect(text).toContain('open_alerts{severity="critical"} 2');
    expect(text.endsWith('\n')).toBe(true);
  });
});
