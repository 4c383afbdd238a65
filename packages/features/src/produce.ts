import type { Message } from 'kafkajs';
import {
  featureEventSchemaVersion,
  type FeatureEvent,
  type FeatureValue,
} from '@shepherd/contracts/features';

/** A feature event as a Kafka message, keyed by entity so one entity's events stay in order. */
export function featureEventMessage(event: FeatureEvent): Message {
  return { key: event.entityId, value: JSON.stringify(event) };
}

export function featureEvent(
  entityId: string,
  eventTime: Date | string,
  values: Record<string, FeatureValue>,
): FeatureEvent {
  return {
    schemaVersion: featureEventSchemaVersion,
    entityId,
    eventTime: typeof eventTime === 'string' ? eventTime : eventTime.toISOString(),
    values,
  };
}
