/**
 * Fault injection for tests and chaos drills, honoured only when GATEWAY_FAULT_INJECTION=1: a
 * version's tags make the gateway misbehave for that version alone, so a canary analysis, an SLO
 * alert or an on-call runbook can be exercised against real traffic without a broken model.
 *
 *   shepherd.fault.latency_ms        milliseconds added to every model run of the version
 *   shepherd.fault.error_rate        share (0–1) of rows whose run fails with a 500, counted as errors
 *   shepherd.fault.prediction_shift  added to every output (classifiers' probabilities stay in [0, 1])
 */

export const faultTags = {
  latencyMs: 'shepherd.fault.latency_ms',
  errorRate: 'shepherd.fault.error_rate',
  predictionShift: 'shepherd.fault.prediction_shift',
} as const;

export interface Faults {
  latencyMs: number;
  errorRate: number;
  predictionShift: number;
}

export interface ParsedFaults {
  /** Undefined when the version has no (valid) fault tag. */
  faults: Faults | undefined;
  /** Tags that are present but invalid, described for the log: a drill that silently does nothing misleads. */
  problems: string[];
}

function readTag(
  tags: Record<string, string>,
  name: string,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = tags[name];
  if (raw === undefined) return 0;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    problems.push(`${name}="${raw}" is not a number in [${min}, ${max}]; ignored`);
    return 0;
  }
  return value;
}

export function parseFaults(tags: Record<string, string>): ParsedFaults {
  const problems: string[] = [];
  const faults: Faults = {
    latencyMs: readTag(tags, faultTags.latencyMs, 0, 60_000, problems),
    errorRate: readTag(tags, faultTags.errorRate, 0, 1, problems),
    predictionShift: readTag(tags, faultTags.predictionShift, -1e9, 1e9, problems),
  };
  const any = faults.latencyMs > 0 || faults.errorRate > 0 || faults.predictionShift !== 0;
  return { faults: any ? faults : undefined, problems };
}
