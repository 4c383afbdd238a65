import { defineFeatureView, type FeatureView } from '@shepherd/contracts/features';

/**
 * Card transactions as the gateway's fraud models see them: the transaction's own attributes plus
 * the card's recent activity (counts, amount sum and average over the last hour and day).
 */
export const cardTransactionsV1 = defineFeatureView({
  name: 'card_transactions',
  version: 1,
  description: 'Card transactions with per-card activity windows (fraud scoring).',
  entityKey: 'card_id',
  eventTimeField: 'event_time',
  ttlSeconds: 24 * 3600,
  features: [
    { name: 'transaction_id', type: 'string' },
    { name: 'amount', type: 'float' },
    { name: 'hour_of_day', type: 'int' },
    { name: 'merchant_risk', type: 'float' },
    { name: 'distance_from_home_km', type: 'float' },
    { name: 'is_foreign', type: 'bool' },
    { name: 'card_age_days', type: 'float' },
  ],
  aggregates: [
    { name: 'txn_count_1h', function: 'count', window: '1h' },
    { name: 'txn_count_24h', function: 'count', window: '24h' },
    { name: 'amount_sum_1h', function: 'sum', field: 'amount', window: '1h' },
    { name: 'amount_sum_24h', function: 'sum', field: 'amount', window: '24h' },
    { name: 'amount_avg_24h', function: 'avg', field: 'amount', window: '24h' },
    { name: 'amount_max_24h', function: 'max', field: 'amount', window: '24h' },
  ],
});

/** Every view declared in code. The ingestion process registers these at start (a no-op when unchanged). */
export const featureViewCatalog: readonly FeatureView[] = [cardTransactionsV1];
