import { describe, expect, it } from 'vitest';
import { defineFeatureView, type FeatureViewDefinitionInput } from '@shepherd/contracts/features';
import { loadIngestEnv } from '../src/env.ts';
import { canonicalJson, definitionHash, diffFeatureViews } from '../src/registry.ts';

const base: FeatureViewDefinitionInput = {
  name: 'txns',
  version: 1,
  entityKey: 'card_id',
  ttlSeconds: 3600,
  features: [
    { name: 'amount', type: 'float' },
    { name: 'merchant', type: 'string' },
  ],
  aggregates: [{ name: 'n_1h', function: 'count', window: '1h' }],
};

describe('feature view identity', () => {
  it('hashes the schema, not the spelling: defaults, key order and descriptions do not matter', () => {
    const a = defineFeatureView(base);
    const b = defineFeatureView({
      ...base,
      description: 'documented later',
      eventTimeField: 'event_time',
      sourceTopic: 'features.txns',
      features: [
        { type: 'float', name: 'amount', nullable: false, description: 'in EUR' },
        { name: 'merchant', type: 'string' },
      ],
    });
    expect(definitionHash(a)).toBe(definitionHash(b));
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: undefined }] })).toBe('{"a":[2,{"d":3}],"b":1}');
  });

  it('names each difference between two definitions', () => {
    const before = defineFeatureView(base);
    const after = defineFeatureView({
      ...base,
      ttlSeconds: 60,
      features: [
        { name: 'amount', type: 'int' },
        { name: 'country', type: 'string' },
      ],
      aggregates: [{ name: 'n_1h', function: 'count', window: '2h' }],
    });
    expect(definitionHash(before)).not.toBe(definitionHash(after));
    expect(diffFeatureViews(before, after)).toEqual([
      'ttlSeconds: 3600 → 60',
      "feature 'amount': float → int",
      "feature 'country' added (string)",
      "feature 'merchant' removed",
      "aggregate 'n_1h': count(*) over 1h → count(*) over 2h",
    ]);
  });
});

describe('ingestion environment', () => {
  const env = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5433/db' };

  it('defaults to every view, the local broker and the default project', () => {
    expect(loadIngestEnv(env)).toMatchObject({
      FEATURE_VIEWS: 'all',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      SHEPHERD_PROJECT: 'default',
      LOG_LEVEL: 'info',
    });
  });

  it('parses a list of views with optional versions', () => {
    expect(loadIngestEnv({ ...env, FEATURE_VIEWS: 'card_transactions, clicks@2' }).FEATURE_VIEWS).toEqual([
      { name: 'card_transactions' },
      { name: 'clicks', version: 2 },
    ]);
  });

  it.each([
    ['DATABASE_URL', {}],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['FEATURE_VIEWS', { ...env, FEATURE_VIEWS: 'Card Transactions' }],
    ['KAFKA_BROKERS', { ...env, KAFKA_BROKERS: 'localhost' }],
    ['LOG_LEVEL', { ...env, LOG_LEVEL: 'loud' }],
  ])('names %s when it is wrong', (name, source) => {
    expect(() => loadIngestEnv(source)).toThrow(name);
  });
});
