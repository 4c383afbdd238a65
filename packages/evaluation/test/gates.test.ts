import { describe, expect, it } from 'vitest';
import { compare } from '../src/compare.ts';
import { evaluateGates, gateSpecSchema, type GateSpec } from '../src/gates.ts';

const gates: GateSpec = {
  roc_auc: { threshold: 0.85, minAbsoluteChange: 0.01, greaterIsBetter: true },
  log_loss: { threshold: 0.4, minRelativeChange: 0.05, greaterIsBetter: false },
};

describe('evaluateGates', () => {
  it('passes a candidate that clears every gate', () => {
    const evaluation = evaluateGates(
      { roc_auc: 0.9, log_loss: 0.3 },
      { roc_auc: 0.88, log_loss: 0.35 },
      gates,
    );
    expect(evaluation.passed).toBe(true);
    expect(evaluation.results.map((r) => [r.metric, r.kind, r.passed])).toEqual([
      ['roc_auc', 'threshold', true],
      ['roc_auc', 'absolute_change', true],
      ['log_loss', 'threshold', true],
      ['log_loss', 'relative_change', true],
    ]);
    expect(evaluation.results[1]).toMatchObject({
      required: 0.89,
      actual: 0.9,
      champion: 0.88,
      skipped: false,
    });
    expect(evaluation.results[3]?.required).toBeCloseTo(0.3325, 12);
  });

  it('fails with messages naming the metric and the numbers', () => {
    const evaluation = evaluateGates(
      { roc_auc: 0.84, log_loss: 0.34 },
      { roc_auc: 0.845, log_loss: 0.35 },
      gates,
    );
    expect(evaluation.passed).toBe(false);
    const failed = evaluation.results.filter((r) => !r.passed);
    expect(failed.map((r) => r.message)).toEqual([
      'roc_auc = 0.84 is below the threshold: it must be at least 0.85',
      'roc_auc = 0.84 vs champion 0.845 (-0.005, -0.591716%) does not improve by at least 0.01: ' +
        'it must be at least 0.855',
      'log_loss = 0.34 vs champion 0.35 (-0.01, -2.85714%) does not improve (lower is better) by at least 5%: ' +
        'it must be at most 0.3325',
    ]);
  });

  it('fails a lower-is-better threshold from above', () => {
    const [threshold] = evaluateGates({ log_loss: 0.5 }, undefined, { log_loss: gates.log_loss! }).results;
    expect(threshold).toMatchObject({ passed: false, required: 0.4, actual: 0.5 });
    expect(threshold?.message).toBe('log_loss = 0.5 is above the threshold: it must be at most 0.4');
  });

  it('skips the change gates without a champion, and says so', () => {
    const evaluation = evaluateGates({ roc_auc: 0.9, log_loss: 0.3 }, undefined, gates);
    expect(evaluation.passed).toBe(true);
    const skipped = evaluation.results.filter((r) => r.skipped);
    expect(skipped.map((r) => [r.metric, r.kind])).toEqual([
      ['roc_auc', 'absolute_change'],
      ['log_loss', 'relative_change'],
    ]);
    expect(skipped[0]).toMatchObject({ passed: true, required: null, champion: null });
    expect(skipped[0]?.message).toBe('skipped: there is no champion to compare roc_auc with');
  });

  it('fails when the candidate or the champion lacks a gated metric', () => {
    const evaluation = evaluateGates({ log_loss: 0.3 }, { roc_auc: 0.8 }, gates);
    expect(evaluation.passed).toBe(false);
    expect(evaluation.results.filter((r) => !r.passed).map((r) => r.message)).toEqual([
      'the candidate has no roc_auc metric',
      'the candidate has no roc_auc metric',
      'the champion has no usable log_loss (undefined) to compare with',
    ]);
    const nan = evaluateGates({ roc_auc: Number.NaN }, undefined, {
      roc_auc: { threshold: 0.5, greaterIsBetter: true },
    });
    expect(nan.results[0]?.message).toBe("the candidate's roc_auc is NaN, not a finite number");
  });

  it('treats exact boundaries as passing despite float rounding', () => {
    // 0.85 + 0.02 is 0.8699999999999999 in doubles; 0.87 must still pass.
    const evaluation = evaluateGates(
      { roc_auc: 0.87 },
      { roc_auc: 0.85 },
      {
        roc_auc: { threshold: 0.87, minAbsoluteChange: 0.02, greaterIsBetter: true },
      },
    );
    expect(evaluation.passed).toBe(true);
  });

  it('reads minAbsoluteChange 0 as "no worse" and a negative one as a tolerated regression', () => {
    const noWorse = { roc_auc: { minAbsoluteChange: 0, greaterIsBetter: true } };
    expect(evaluateGates({ roc_auc: 0.8 }, { roc_auc: 0.8 }, noWorse).passed).toBe(true);
    expect(evaluateGates({ roc_auc: 0.799 }, { roc_auc: 0.8 }, noWorse).passed).toBe(false);
    const tolerant = { roc_auc: { minAbsoluteChange: -0.005, greaterIsBetter: true } };
    expect(evaluateGates({ roc_auc: 0.796 }, { roc_auc: 0.8 }, tolerant).passed).toBe(true);
    expect(evaluateGates({ roc_auc: 0.794 }, { roc_auc: 0.8 }, tolerant).passed).toBe(false);
  });

  it('falls back to a strict improvement for a relative change over a zero champion, as MLflow does', () => {
    const spec = { error_rate: { minRelativeChange: 0.1, greaterIsBetter: false } };
    expect(evaluateGates({ error_rate: 0 }, { error_rate: 0 }, spec).passed).toBe(false);
    const spec2 = { gain: { minRelativeChange: 0.1, greaterIsBetter: true } };
    expect(evaluateGates({ gain: 0.001 }, { gain: 0 }, spec2).passed).toBe(true);
  });
});

describe('gateSpecSchema', () => {
  it('accepts a spec and rejects typos, empty gates and bad numbers', () => {
    expect(gateSpecSchema.parse(gates)).toEqual(gates);
    expect(gateSpecSchema.safeParse({ roc_auc: { treshold: 0.8, greaterIsBetter: true } }).success).toBe(
      false,
    );
    const empty = gateSpecSchema.safeParse({ roc_auc: { greaterIsBetter: true } });
    expect(empty.success).toBe(false);
    expect(empty.error?.issues[0]?.message).toContain('at least one of threshold');
    expect(gateSpecSchema.safeParse({ roc_auc: { threshold: 0.8 } }).success).toBe(false);
    expect(
      gateSpecSchema.safeParse({ roc_auc: { threshold: Infinity, greaterIsBetter: true } }).success,
    ).toBe(false);
    expect(
      gateSpecSchema.safeParse({ roc_auc: { minRelativeChange: -2, greaterIsBetter: true } }).success,
    ).toBe(false);
  });
});

describe('compare', () => {
  it('gives absolute and relative deltas over both metric sets, with a verdict where the direction is known', () => {
    const deltas = compare(
      { roc_auc: 0.9, log_loss: 0.3, row_count: 1000, new_metric: 1 },
      { roc_auc: 0.8, log_loss: 0.4, row_count: 1000, old_metric: 2, zero: 0 },
    );
    const byName = Object.fromEntries(deltas.map((d) => [d.metric, d]));
    expect(byName.roc_auc?.absolute).toBeCloseTo(0.1, 12);
    expect(byName.roc_auc?.relative).toBeCloseTo(0.125, 12);
    expect(byName.roc_auc?.better).toBe(true);
    expect(byName.log_loss?.relative).toBeCloseTo(-0.25, 12);
    expect(byName.log_loss?.better).toBe(true);
    expect(byName.row_count).toEqual({
      metric: 'row_count',
      candidate: 1000,
      champion: 1000,
      absolute: 0,
      relative: 0,
      better: null,
    });
    expect(byName.new_metric).toMatchObject({ champion: null, absolute: null, relative: null });
    expect(byName.old_metric).toMatchObject({ candidate: null, champion: 2 });
    expect(deltas.map((d) => d.metric)).toEqual([
      'roc_auc',
      'log_loss',
      'row_count',
      'new_metric',
      'old_metric',
      'zero',
    ]);
  });

  it('counts lower rmse and mae, and higher r2, as better', () => {
    const deltas = compare(
      { rmse: 1.5, mae: 1.2, r2: 0.6, target_mean: 3 },
      { rmse: 2, mae: 1, r2: 0.5, target_mean: 3.1 },
    );
    expect(Object.fromEntries(deltas.map((d) => [d.metric, d.better]))).toEqual({
      rmse: true,
      mae: false,
      r2: true,
      target_mean: null,
    });
  });

  it('leaves the relative change empty over a zero champion', () => {
    expect(compare({ x: 1 }, { x: 0 })[0]).toMatchObject({ absolute: 1, relative: null });
  });
});
