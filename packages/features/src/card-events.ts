import type { FeatureEvent, LabelEvent } from '@shepherd/contracts/features';
import { labelEventSchemaVersion } from '@shepherd/contracts/features';
import { fraudFeatureNames, type FraudRow } from '@shepherd/datagen/fraud';
import { featureEvent } from './produce.ts';

/**
 * A generated card transaction as a `card_transactions` v2 event: every fraud-model input, so the
 * online store alone can feed the model. This is what producers publish now.
 */
export function cardTransactionEvent(row: FraudRow): FeatureEvent {
  const values: FeatureEvent['values'] = { transaction_id: row.transaction_id };
  for (const name of fraudFeatureNames) values[name] = row[name];
  return featureEvent(row.card_id, row.event_time, values);
}

/** The same transaction in the v1 schema (for readers and tests of the v1 view). */
export function cardTransactionEventV1(row: FraudRow): FeatureEvent {
  return featureEvent(row.card_id, row.event_time, {
    transaction_id: row.transaction_id,
    amount: row.amount,
    hour_of_day: row.hour_of_day,
    merchant_risk: row.merchant_risk,
    distance_from_home_km: row.distance_from_home_km,
    is_foreign: row.is_foreign === 1,
    card_age_days: row.card_age_days,
  });
}

/** The fraud label of a generated transaction, as a `labels.<model>` event. */
export function cardTransactionLabel(row: FraudRow): LabelEvent {
  return {
    schemaVersion: labelEventSchemaVersion,
    id: row.transaction_id,
    entityId: row.card_id,
    eventTime: row.event_time,
    label: row.label,
  };
}
