import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from './router.ts';

describe('hash routes', () => {
  it('round-trips every page through href and parseRoute', () => {
    const routes: Route[] = [
      { page: 'overview' },
      { page: 'models' },
      { page: 'model', model: 'card-fraud.v2' },
      { page: 'version', model: 'card-fraud', version: 12 },
      { page: 'lineage' },
      { page: 'lineage', kind: 'topic_range', id: 'features.card_transactions/0:100-200' },
      { page: 'features' },
      { page: 'rollouts' },
      { page: 'rollout', id: '5b0c7a2e-0000-4000-8000-000000000000' },
      { page: 'slos' },
      { page: 'slos', endpoint: 'fraud-scoring' },
      { page: 'drift' },
      { page: 'drift', endpoint: 'fraud-scoring' },
      { page: 'alerts' },
      { page: 'alert', id: '5b0c7a2e-0000-4000-8000-000000000001' },
      { page: 'audit' },
    ];
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
  });

  it('starts at the overview and names what it cannot route', () => {
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/')).toEqual({ page: 'overview' });
    expect(parseRoute('#/models/fraud/versions/x')).toEqual({
      page: 'not-found',
      path: '/models/fraud/versions/x',
    });
    expect(parseRoute('#/lineage/planet/1')).toEqual({ page: 'not-found', path: '/lineage/planet/1' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'not-found', path: '/nowhere' });
  });
});
