import { describe, expect, it } from 'vitest';
import { defineFeatureView, featureViewDefinition } from '@shepherd/contracts/features';
import { featureEvent } from '../src/produce.ts';
import { createEventValidator } from '../src/validate.ts';
import { cardTransactionsV1 } from '../src/views.ts';

const validate = createEventValidator(cardTransactionsV1, { maxEventBytes: 2048 });
const values = {
  transaction_id: 'txn-1',
  amount: 12.5,
  hour_of_day: 13,
  merchant_risk: 0.1,
  distance_from_home_km: 2.5,
  is_foreign: false,
  card_age_days: 400,
};
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('feature event validation', () => {
  it('accepts an event matching the view', () => {
    const outcome = validate(bytes(featureEvent('card-1', '2025-01-01T10:00:00.000Z', values)));
    expect(outcome).toMatchObject({ ok: true, eventTimeMs: Date.parse('2025-01-01T10:00:00.000Z') });
  });

  it('accepts event times with an offset', () => {
    const outcome = validate(bytes(featureEvent('card-1', '2025-01-01T11:00:00+01:00', values)));
    expect(outcome).toMatchObject({ ok: true, eventTimeMs: Date.parse('2025-01-01T10:00:00.000Z') });
  });

  it.each([
    ['empty', null],
    ['empty', Buffer.alloc(0)],
    [
      'too_large',
      bytes({ ...featureEvent('card-1', '2025-01-01T10:00:00Z', values), pad: 'x'.repeat(4096) }),
    ],
    ['invalid_json', bytes('{"schemaVersion":1,')],
    ['invalid_json', bytes('not json at all')],
    ['invalid_envelope', bytes({ entityId: 'card-1', eventTime: '2025-01-01T10:00:00Z', values })],
    [
      'invalid_envelope',
      bytes({ ...featureEvent('card-1', '2025-01-01T10:00:00Z', values), schemaVersion: 2 }),
    ],
    ['invalid_envelope', bytes({ ...featureEvent('card-1', 'yesterday', values) })],
    ['invalid_envelope', bytes({ ...featureEvent('', '2025-01-01T10:00:00Z', values) })],
    ['invalid_envelope', bytes([1, 2, 3])],
    ['schema_mismatch', bytes(featureEvent('card-1', '2025-01-01T10:00:00Z', { ...values, amount: '12.5' }))],
    [
      'schema_mismatch',
      bytes(featureEvent('card-1', '2025-01-01T10:00:00Z', { ...values, hour_of_day: 1.5 })),
    ],
    ['schema_mismatch', bytes(featureEvent('card-1', '2025-01-01T10:00:00Z', { ...values, is_foreign: 0 }))],
    ['schema_mismatch', bytes(featureEvent('card-1', '2025-01-01T10:00:00Z', { ...values, amount: null }))],
    ['schema_mismatch', bytes(featureEvent('card-1', '2025-01-01T10:00:00Z', { ...values, surprise: 1 }))],
  ])('rejects %s', (code, value) => {
    const outcome = validate(value as Buffer | null);
    expect(outcome).toMatchObject({ ok: false, code });
  });

  it('names the field that is wrong and what was missing', () => {
    const { amount: _amount, ...missing } = values;
    const outcome = validate(bytes(featureEvent('card-1', '2025-01-01T10:00:00Z', missing)));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.message).toContain('values.amount');
  });

  it('lets nullable features be null', () => {
    const view = defineFeatureView({
      name: 'sensor',
      version: 1,
      entityKey: 'sensor_id',
      ttlSeconds: 60,
      features: [{ name: 'reading', type: 'float', nullable: true }],
    });
    const check = createEventValidator(view);
    expect(check(bytes(featureEvent('s-1', '2025-01-01T10:00:00Z', { reading: null }))).ok).toBe(true);
  });
});

describe('feature view definitions', () => {
  it('resolves defaults: source topic, event-time field, aggregate names', () => {
    const view = defineFeatureView({
      name: 'clicks',
      version: 1,
      entityKey: 'user_id',
      ttlSeconds: 600,
      features: [{ name: 'dwell_ms', type: 'int' }],
      aggregates: [
        { function: 'count', window: '1h' },
        { function: 'avg', field: 'dwell_ms', window: '30m' },
      ],
    });
    expect(view.sourceTopic).toBe('features.clicks');
    expect(view.eventTimeField).toBe('event_time');
    expect(view.aggregates.map((a) => a.name)).toEqual(['count_1h', 'avg_dwell_ms_30m']);
  });

  it.each([
    [
      'an aggregate over a string feature',
      { aggregates: [{ function: 'sum', field: 'label', window: '1h' }] },
    ],
    [
      'an aggregate over an unknown field',
      { aggregates: [{ function: 'max', field: 'nope', window: '1h' }] },
    ],
    ['sum without a field', { aggregates: [{ function: 'sum', window: '1h' }] }],
    ['a bad window', { aggregates: [{ function: 'count', window: '1 hour' }] }],
    [
      'a duplicate feature',
      {
        features: [
          { name: 'x', type: 'int' },
          { name: 'x', type: 'float' },
        ],
      },
    ],
    ['a feature named like the entity key', { features: [{ name: 'user_id', type: 'string' }] }],
    ['an unknown type', { features: [{ name: 'x', type: 'decimal' }] }],
    ['a zero TTL', { ttlSeconds: 0 }],
  ])('refuses %s', (_what, change) => {
    const base = {
      name: 'clicks',
      version: 1,
      entityKey: 'user_id',
      ttlSeconds: 600,
      features: [
        { name: 'dwell_ms', type: 'int' },
        { name: 'label', type: 'string' },
      ],
    };
    expect(featureViewDefinition.safeParse({ ...base, ...change }).success).toBe(false);
  });
});
