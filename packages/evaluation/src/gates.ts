import type { Metrics } from './metrics.ts';

// The gate schema is part of the API contract; this module applies it.
export {
  metricGate as metricGateSchema,
  gateSpec as gateSpecSchema,
  type MetricGate,
  type GateSpec,
} from '@shepherd/contracts/training';
import type { GateSpec } from '@shepherd/contracts/training';

export type GateKind = 'threshold' | 'absolute_change' | 'relative_change';

export interface GateResult {
  metric: string;
  kind: GateKind;
  /** The value the candidate had to reach (>= when greaterIsBetter, else <=); null when unknown. */
  required: number | null;
  /** The candidate's value; null when the candidate lacks the metric. */
  actual: number | null;
  /** The champion's value for change gates; null for threshold gates or without a champion. */
  champion: number | null;
  passed: boolean;
  /** True when the gate could not apply (no champion): it passes, and `message` says why. */
  skipped: boolean;
  message: string;
}

export interface GateEvaluation {
  passed: boolean;
  results: GateResult[];
}

/** Slack for float rounding, so 0.85 + 0.02 does not fail a candidate at exactly 0.87. */
const slack = (value: number) => 1e-12 * Math.max(1, Math.abs(value));
const zeroChampionImprovement = 1e-10;

export function evaluateGates(
  candidate: Metrics,
  champion: Metrics | undefined,
  gates: GateSpec,
): GateEvaluation {
  const results: GateResult[] = [];
  for (const [metric, gate] of Object.entries(gates)) {
    const actual = finiteOrNull(candidate[metric]);
    const better = gate.greaterIsBetter ? 'at least' : 'at most';

    if (gate.threshold !== undefined) {
      const required = gate.threshold;
      const base = { metric, kind: 'threshold' as const, required, actual, champion: null, skipped: false };
      if (actual === null) {
        results.push({ ...base, passed: false, message: missing(metric, candidate[metric]) });
      } else {
        const passed = meets(actual, required, gate.greaterIsBetter);
        results.push({
          ...base,
          passed,
          message: passed
            ? `${metric} = ${fmt(actual)} meets the threshold (${better} ${fmt(required)})`
            : `${metric} = ${fmt(actual)} is ${gate.greaterIsBetter ? 'below' : 'above'} the threshold: ` +
              `it must be ${better} ${fmt(required)}`,
        });
      }
    }

    for (const kind of ['absolute_change', 'relative_change'] as const) {
      const minChange = kind === 'absolute_change' ? gate.minAbsoluteChange : gate.minRelativeChange;
      if (minChange === undefined) continue;
      const describeChange =
        kind === 'absolute_change' ? `by at least ${fmt(minChange)}` : `by at least ${fmtPercent(minChange)}`;
      const base = { metric, kind, actual };
      if (champion === undefined) {
        results.push({
          ...base,
          required: null,
          champion: null,
          passed: true,
          skipped: true,
          message: `skipped: there is no champion to compare ${metric} with`,
        });
        continue;
      }
      const championValue = finiteOrNull(champion[metric]);
      if (championValue === null) {
        results.push({
          ...base,
          required: null,
          champion: null,
          passed: false,
          skipped: false,
          message: `the champion has no usable ${metric} (${String(champion[metric])}) to compare with`,
        });
        continue;
      }
      const required = requiredValue(kind, minChange, championValue, gate.greaterIsBetter);
      if (actual === null) {
        results.push({
          ...base,
          required,
          champion: championValue,
          passed: false,
          skipped: false,
          message: missing(metric, candidate[metric]),
        });
        continue;
      }
      const passed = meets(actual, required, gate.greaterIsBetter);
      const change = changeText(actual, championValue);
      results.push({
        ...base,
        required,
        champion: championValue,
        passed,
        skipped: false,
        message: passed
          ? `${metric} = ${fmt(actual)} vs champion ${fmt(championValue)} (${change}) ` +
            `${gate.greaterIsBetter ? 'improves' : 'improves (lower is better)'} ${describeChange}`
          : `${metric} = ${fmt(actual)} vs champion ${fmt(championValue)} (${change}) does not ` +
            `${gate.greaterIsBetter ? 'improve' : 'improve (lower is better)'} ${describeChange}: ` +
            `it must be ${better} ${fmt(required)}`,
      });
    }
  }
  return { passed: results.every((result) => result.passed), results };
}

function requiredValue(
  kind: GateKind,
  minChange: number,
  champion: number,
  greaterIsBetter: boolean,
): number {
  const sign = greaterIsBetter ? 1 : -1;
  if (kind === 'absolute_change') return champion + sign * minChange;
  if (champion === 0) return sign * zeroChampionImprovement;
  return champion + sign * Math.abs(champion) * minChange;
}

function meets(actual: number, required: number, greaterIsBetter: boolean): boolean {
  return greaterIsBetter ? actual >= required - slack(required) : actual <= required + slack(required);
}

function finiteOrNull(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function missing(metric: string, value: unknown): string {
  return value === undefined
    ? `the candidate has no ${metric} metric`
    : `the candidate's ${metric} is ${String(value)}, not a finite number`;
}

/** Up to 6 significant digits: enough to tell 0.8512 from 0.85 without float noise. */
export function fmt(value: number): string {
  return String(Number(value.toPrecision(6)));
}

function fmtPercent(share: number): string {
  return `${fmt(share * 100)}%`;
}

function changeText(actual: number, champion: number): string {
  const delta = actual - champion;
  const absolute = `${delta >= 0 ? '+' : ''}${fmt(delta)}`;
  if (champion === 0) return absolute;
  const relative = delta / Math.abs(champion);
  return `${absolute}, ${relative >= 0 ? '+' : ''}${fmtPercent(relative)}`;
}
