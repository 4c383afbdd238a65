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

/**
 * Version 2 carries every column a fraud model takes (datagen's `fraudFeatureNames`, as numbers in
 * that order), so the gateway can score a card from the online store alone. The per-card counts
 * and the amount against the 24h average are computed by the producer over the card's earlier
 * transactions, exactly as the model was trained. Same topic as v1: producers moved to the v2
 * schema, and v2 has its own consumer group.
 */
export const cardTransactionsV2 = defineFeatureView({
  name: 'card_transactions',
  version: 2,
  description: 'Card transactions with every fraud-model input (fraudFeatureNames) and activity windows.',
  entityKey: 'card_id',
  eventTimeField: 'event_time',
  ttlSeconds: 24 * 3600,
  features: [
    { name: 'transaction_id', type: 'string' },
    { name: 'amount', type: 'float' },
    { name: 'log_amount', type: 'float' },
    { name: 'hour_of_day', type: 'int' },
    { name: 'is_night', type: 'int' },
    { name: 'merchant_risk', type: 'float' },
    { name: 'distance_from_home_km', type: 'float' },
    { name: 'is_foreign', type: 'int' },
    { name: 'card_age_days', type: 'float' },
    { name: 'txn_count_1h', type: 'int' },
    { name: 'txn_count_24h', type: 'int' },
    { name: 'amount_vs_avg_24h', type: 'float' },
  ],
  aggregates: [
    { name: 'amount_sum_24h', function: 'sum', field: 'amount', window: '24h' },
    { name: 'amount_avg_24h', function: 'avg', field: 'amount', window: '24h' },
    { name: 'amount_max_24h', function: 'max', field: 'amount', window: '24h' },
  ],
});

/** Every view declared in code. The ingestion process registers these at start (a no-op when unchanged). */
export const featureViewCatalog: readonly FeatureView[] = [cardTransactionsV1, cardTransactionsV2];
