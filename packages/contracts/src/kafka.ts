import { z } from 'zod';

/** A Kafka topic name as the broker accepts it: 1–249 of letters, digits, `.`, `_`, `-`. */
export const kafkaTopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, {
  message: 'must be a valid Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)',
});
