import type { OnlineFeatureVector } from '@shepherd/contracts/features';

/** What a prediction log line carries per feature: the value as the model saw it, before float32. */
export type LoggedValue = number | boolean | null;

export interface RowProblem {
  row: number;
  entityId: string | null;
  missing: string[];
  nonNumeric: string[];
  /** Set when the row's entity was looked up and the online store has never seen it. */
  entityNotFound?: boolean;
}

/**
 * A row's features by name: the online store's values and aggregates for its entity, overridden by
 * what the caller passed in (the caller knows better, e.g. the transaction being scored right now).
 */
export function mergeFeatures(
  online: OnlineFeatureVector | undefined,
  passed: Record<string, number | boolean | null> | undefined,
): Record<string, unknown> {
  if (!online?.found) return passed ?? {};
  return { ...online.values, ...online.aggregates, ...passed };
}

/** True when `features` lacks a value for one of `names` (so the online store must be asked). */
export function lacksAny(features: Record<string, unknown> | undefined, names: readonly string[]): boolean {
  if (features === undefined) return names.length > 0;
  for (const name of names) if (features[name] === undefined || features[name] === null) return true;
  return false;
}

/**
 * Writes one row into `out` at `offset` in the model's feature order: numbers as they are, booleans
 * as 0/1. Returns the problems (missing or non-numeric names) instead of guessing a value: a model
 * fed a made-up 0 answers confidently and wrongly.
 */
export function encodeRow(
  features: Record<string, unknown>,
  names: readonly string[],
  out: Float32Array,
  offset: number,
): { missing: string[]; nonNumeric: string[] } | undefined {
  let missing: string[] | undefined;
  let nonNumeric: string[] | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = features[name];
    if (typeof value === 'number') {
      if (Number.isFinite(value)) {
        out[offset + i] = value;
        continue;
      }
      (nonNumeric ??= []).push(name);
    } else if (typeof value === 'boolean') {
      out[offset + i] = value ? 1 : 0;
    } else if (value === undefined || value === null) {
      (missing ??= []).push(name);
    } else {
      (nonNumeric ??= []).push(name);
    }
  }
  return missing || nonNumeric ? { missing: missing ?? [], nonNumeric: nonNumeric ?? [] } : undefined;
}

/** The features a log line records: the model's inputs by name, as they were before encoding. */
export function loggedFeatures(
  features: Record<string, unknown>,
  names: readonly string[],
): Record<string, LoggedValue> {
  const logged: Record<string, LoggedValue> = {};
  for (const name of names) {
    const value = features[name];
    logged[name] = typeof value === 'number' || typeof value === 'boolean' ? value : null;
  }
  return logged;
}

/** One message for a 422 that names every problem feature and its entity (first rows only). */
export function describeProblems(problems: readonly RowProblem[], featureView: string | null): string {
  const shown = problems.slice(0, 5).map((problem) => {
    const who = problem.entityId !== null ? `entity ${problem.entityId}` : `row ${problem.row}`;
    const parts: string[] = [];
    if (problem.missing.length > 0) parts.push(`missing feature(s) ${problem.missing.join(', ')}`);
    if (problem.nonNumeric.length > 0) parts.push(`non-numeric feature(s) ${problem.nonNumeric.join(', ')}`);
    const notFound =
      problem.entityNotFound && featureView !== null
        ? ` (the online store of feature view ${featureView} has no entry for it)`
        : problem.entityId === null && problem.missing.length > 0
          ? ' (a row without entityId gets nothing from the online store)'
          : '';
    return `${who}: ${parts.join('; ')}${notFound}`;
  });
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more row(s)` : '';
  return `cannot build the model's input: ${shown.join('; ')}${more}`;
}
