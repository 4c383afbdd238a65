/**
 * Column inputs: what callers hand in (typed arrays, plain arrays, values with gaps) and how it is
 * cleaned. Missing values (null, undefined, NaN, ±Infinity for numbers) are dropped and counted, as
 * Evidently drops them before testing.
 */
import { ShepherdError } from '@shepherd/core/errors';

export type ColumnKind = 'numeric' | 'categorical';

export type NumericValues =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | ReadonlyArray<number | null | undefined>;

export type CategoricalValue = string | number | boolean | null | undefined;
export type CategoricalValues = ReadonlyArray<CategoricalValue>;

export type ColumnInput =
  { kind: 'numeric'; values: NumericValues } | { kind: 'categorical'; values: CategoricalValues };

/** Columns by name: either tagged with their kind or bare arrays (typed/number arrays are numeric). */
export type ColumnsInput = Readonly<Record<string, ColumnInput | NumericValues | CategoricalValues>>;

function isTagged(value: unknown): value is ColumnInput {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Resolves a column's kind: explicit tag, then a hint, then the values themselves. */
export function resolveColumn(name: string, input: ColumnsInput[string], hint?: ColumnKind): ColumnInput {
  if (isTagged(input)) {
    const kind: unknown = input.kind;
    if (kind !== 'numeric' && kind !== 'categorical') {
      throw new ShepherdError('validation_failed', `column "${name}": unknown kind ${String(kind)}`);
    }
    if (hint !== undefined && input.kind !== hint) {
      throw new ShepherdError(
        'validation_failed',
        `column "${name}" is ${input.kind} here but ${hint} in the reference profile`,
      );
    }
    return input;
  }
  if (ArrayBuffer.isView(input)) {
    if (hint === 'categorical') return { kind: 'categorical', values: Array.from(input as NumericValues) };
    return { kind: 'numeric', values: input as NumericValues };
  }
  if (!Array.isArray(input)) throw new ShepherdError('validation_failed', `column "${name}" is not an array`);
  if (hint !== undefined) return { kind: hint, values: input } as ColumnInput;
  const first = input.find((v) => v !== null && v !== undefined);
  if (typeof first === 'number' || first === undefined)
    return { kind: 'numeric', values: input as NumericValues };
  return { kind: 'categorical', values: input as CategoricalValues };
}

export interface CleanNumeric {
  values: Float64Array;
  missing: number;
  min: number;
  max: number;
}

/** Finite values as a Float64Array, with the count of dropped missing values and the range. */
export function cleanNumeric(name: string, values: NumericValues): CleanNumeric {
  const n = values.length;
  if (values instanceof Float64Array) {
    // The common case, a Float64Array with nothing missing, is used as it is: no copy to collect.
    let min = Infinity;
    let max = -Infinity;
    let finite = true;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v - v !== 0) {
        finite = false;
        break;
      }
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (finite) return { values, missing: 0, min, max };
  }
  const out = new Float64Array(n);
  let k = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number') {
      if (v === null || v === undefined) continue;
      throw new ShepherdError(
        'validation_failed',
        `column "${name}" is numeric but holds ${typeof v} at row ${i}`,
      );
    }
    if (v - v !== 0) continue; // NaN and ±Infinity
    out[k++] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { values: k === n ? out : out.slice(0, k), missing: n - k, min, max };
}

export interface CategoryCounts {
  counts: Map<string, number>;
  total: number;
  missing: number;
}

/** Category → count. Values are compared by their string form ("1" and 1 are the same category). */
export function countCategories(values: CategoricalValues): CategoryCounts {
  // One map lookup per value (category → slot) and counts in a typed array: about a third faster
  // than get-then-set on a Map of counts.
  const slots = new Map<string, number>();
  let tally = new Float64Array(64);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
      missing++;
      continue;
    }
    const key = typeof v === 'string' ? v : String(v);
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = slots.size;
      slots.set(key, slot);
      if (slot === tally.length) {
        const grown = new Float64Array(tally.length * 2);
        grown.set(tally);
        tally = grown;
      }
    }
    tally[slot]!++;
  }
  const counts = new Map<string, number>();
  for (const [key, slot] of slots) counts.set(key, tally[slot]!);
  return { counts, total: values.length - missing, missing };
}
