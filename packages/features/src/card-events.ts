import type { FeatureEvent } from '@shepherd/contracts/features';
import type { FraudRow } from '@shepherd/datagen/fraud';
import { featureEvent } from './produce.ts';

/** A generated card transaction as a `card_transactions` v1 event. */
export function cardTransactionEvent(row: FraudRow): FeatureEvent {
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
