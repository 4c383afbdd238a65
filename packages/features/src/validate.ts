import {
  featureEventEnvelope,
  featureEventSchema,
  type DlqReasonCode,
  type FeatureEvent,
  type FeatureView,
} from '@shepherd/contracts/features';
import { z } from 'zod';

/** Larger values are refused before parsing: a feature event is a few hundred bytes. */
export const defaultMaxEventBytes = 64 * 1024;

export type Validation =
  | { ok: true; event: FeatureEvent; eventTimeMs: number }
  | { ok: false; code: DlqReasonCode; message: string };

export interface EventValidator {
  (value: Buffer | null): Validation;
}

/** Builds the validator of one view's events: size, JSON, envelope, then the view's own schema. */
export function createEventValidator(
  view: FeatureView,
  { maxEventBytes = defaultMaxEventBytes }: { maxEventBytes?: number } = {},
): EventValidator {
  // Compiled by zod into one generated function (about six times faster on a valid event); it
  // falls back to zod's own parser for anything it rejects, so results and messages are zod's.
  const schema = z.compile(featureEventSchema(view));
  return (value) => {
    if (value === null || value.length === 0) {
      return { ok: false, code: 'empty', message: 'message has no value' };
    }
    if (value.length > maxEventBytes) {
      return {
        ok: false,
        code: 'too_large',
        message: `message is ${value.length} bytes, more than the ${maxEventBytes} allowed`,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch (err) {
      return { ok: false, code: 'invalid_json', message: (err as Error).message };
    }
    // The view's schema extends the envelope, so an event it accepts has a valid envelope too.
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Tell a message from some other producer apart from a feature event whose values don't
      // match the view.
      const envelope = featureEventEnvelope.safeParse(json);
      if (!envelope.success) {
        return { ok: false, code: 'invalid_envelope', message: describe(envelope.error) };
      }
      return { ok: false, code: 'schema_mismatch', message: describe(parsed.error) };
    }
    const event = parsed.data as FeatureEvent;
    return { ok: true, event, eventTimeMs: Date.parse(event.eventTime) };
  };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
