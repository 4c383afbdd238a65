import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { parseLabelledCsv } from '../src/csv.ts';
import { evaluateClassifier, evaluateRegressor } from '../src/evaluate.ts';
import { loadModel, type ClassifierModel, type Model, type RegressorModel } from '../src/model.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

// Rows and scikit-learn's LogisticRegression.predict_proba(rows)[:, 1] for them, printed by
// test/fixtures/make_fixture.py (also in logreg.expected.json) when it wrote logreg.onnx.
const rows = [
  [0.0, 0.0, 0.0],
  [1.0, -1.0, 0.5],
  [-2.0, 1.5, 3.0],
  [0.30000001192092896, 0.20000000298023224, -0.699999988079071],
  [5.0, -5.0, 5.0],
];
const expectedPositiveProba = [
  0.550010621547699, 0.9640505909919739, 0.028261035680770874, 0.46988922357559204, 0.9999998807907104,
];

// scikit-learn's LinearRegression.predict(rows) for the same rows, printed by make_fixture.py
// when it wrote linreg.onnx (y = 2 x0 - 1.25 x1 + 0.5 x2 + 3 + noise).
const expectedPredictions = [
  3.006483554840088, 6.506690979003906, -1.3618674278259277, 3.004295825958252, 21.761341094970703,
];

async function rejection(promise: Promise<unknown>): Promise<ShepherdError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ShepherdError);
  return err as ShepherdError;
}

describe('loadModel + predictProba', () => {
  let model: ClassifierModel;

  beforeAll(async () => {
    model = await loadModel(fixture('logreg.onnx'));
  });
  afterAll(async () => {
    await model.close();
  });

  it("matches scikit-learn's predict_proba to 1e-5", async () => {
    expect(model.nFeatures).toBe(3);
    const proba = await model.predictProba(Float32Array.from(rows.flat()), rows.length, 3);
    expect(proba).toBeInstanceOf(Float32Array);
    expect(proba.length).toBe(rows.length);
    proba.forEach((p, i) => expect(Math.abs(p - expectedPositiveProba[i]!)).toBeLessThan(1e-5));
  });

  it('loads from bytes as well as from a path', async () => {
    const fromBytes = await loadModel(await readFile(fixture('logreg.onnx')));
    const proba = await fromBytes.predictProba(Float32Array.from(rows[1]!), 1, 3);
    expect(proba[0]).toBeCloseTo(expectedPositiveProba[1]!, 5);
    await fromBytes.close();
  });

  it('gives the same answers however the rows are batched', async () => {
    const n = 1001;
    const input = new Float32Array(n * 3);
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 3;
    const whole = await model.predictProba(input, n, 3);
    const small = await loadModel(fixture('logreg.onnx'), { batchSize: 64 });
    const batched = await small.predictProba(input, n, 3);
    await small.close();
    expect(Array.from(batched)).toEqual(Array.from(whole));
    // Row 777 on its own, from a view with a non-zero byte offset.
    const alone = await model.predictProba(input.subarray(777 * 3, 778 * 3), 1, 3);
    expect(alone[0]).toBe(whole[777]);
  });

  it('returns an empty result for no rows', async () => {
    expect((await model.predictProba(new Float32Array(0), 0, 3)).length).toBe(0);
  });

  it('refuses a shape that does not match the data or the model', async () => {
    const wrongLength = await rejection(model.predictProba(new Float32Array(7), 2, 3));
    expect(wrongLength.code).toBe('bad_request');
    expect(wrongLength.message).toContain('expected 2 × 3 = 6 values, got 7');
    const wrongWidth = await rejection(model.predictProba(new Float32Array(8), 2, 4));
    expect(wrongWidth.code).toBe('bad_request');
    expect(wrongWidth.message).toContain('takes 3 features per row, got 4');
  });

  it('evaluates a labelled dataset end to end', async () => {
    const csv = ['transaction_id,a,b,c,label', ...rows.map((r, i) => `t${i},${r.join(',')},${i % 2}`)].join(
      '\n',
    );
    const dataset = parseLabelledCsv(csv, ['a', 'b', 'c']);
    const { metrics, probabilities } = await evaluateClassifier(model, dataset);
    expect(probabilities[2]).toBeCloseTo(expectedPositiveProba[2]!, 5);
    expect(metrics.row_count).toBe(5);
    // Labels 0,1,0,1,0: positive 0.964 outranks negatives 0.550 and 0.028, positive 0.470 only
    // 0.028, and neither outranks 0.9999999 => 3 of 6 pairs.
    expect(metrics.roc_auc).toBe(0.5);
  });
});

describe('loadModel refuses what is not a contract model', () => {
  it('names the missing input and what the model has instead', async () => {
    const err = await rejection(loadModel(fixture('wrong_input.onnx')));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toContain('no input named "features"');
    expect(err.message).toContain('input float32 [?, 3]');
  });

  it('explains a ZipMap output instead of failing at the first prediction', async () => {
    const err = await rejection(loadModel(fixture('zipmap.onnx')));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toContain('output "probabilities" is not a tensor');
    expect(err.message).toContain('zipmap');
  });

  it('says plainly when the bytes are not an ONNX model', async () => {
    const err = await rejection(loadModel(fixture('not_a_model.onnx')));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toMatch(/not_a_model\.onnx is not a loadable ONNX model: .*protobuf parsing failed/i);
    const empty = await rejection(loadModel(new Uint8Array(0)));
    expect(empty.message).toContain('empty');
  });

  it('maps a missing file to not_found', async () => {
    const err = await rejection(loadModel(fixture('does-not-exist.onnx')));
    expect(err.code).toBe('not_found');
  });
});

describe('loadModel with task regression + predict', () => {
  let model: RegressorModel;

  beforeAll(async () => {
    model = await loadModel(fixture('linreg.onnx'), { task: 'regression' });
  });
  afterAll(async () => {
    await model.close();
  });

  it("matches scikit-learn's predict to 1e-5", async () => {
    expect(model.task).toBe('regression');
    expect(model.nFeatures).toBe(3);
    const predictions = await model.predict(Float32Array.from(rows.flat()), rows.length, 3);
    expect(predictions).toBeInstanceOf(Float32Array);
    expect(predictions.length).toBe(rows.length);
    predictions.forEach((p, i) => expect(Math.abs(p - expectedPredictions[i]!)).toBeLessThan(1e-5));
  });

  it('gives the same answers however the rows are batched', async () => {
    const n = 1001;
    const input = new Float32Array(n * 3);
    for (let i = 0; i < input.length; i++) input[i] = Math.cos(i * 0.29) * 4;
    const whole = await model.predict(input, n, 3);
    const small = await loadModel(await readFile(fixture('linreg.onnx')), {
      task: 'regression',
      batchSize: 100,
    });
    const batched = await small.predict(input, n, 3);
    await small.close();
    // Not bit-equal: ONNX Runtime's GEMM kernel takes a different path for a batch's leftover
    // rows, so the last float32 bit can differ with the batch size.
    batched.forEach((p, i) => expect(Math.abs(p - whole[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(p))));
    expect((await model.predict(new Float32Array(0), 0, 3)).length).toBe(0);
  });

  it('refuses a shape that does not match the model', async () => {
    const err = await rejection(model.predict(new Float32Array(8), 2, 4));
    expect(err.code).toBe('bad_request');
    expect(err.message).toContain('takes 3 features per row, got 4');
  });

  it('evaluates a continuous dataset end to end', async () => {
    const targets = [3, 6.5, -1.5, 3, 22];
    const csv = [
      'transaction_id,a,b,c,label',
      ...rows.map((r, i) => `t${i},${r.join(',')},${targets[i]}`),
    ].join('\n');
    const dataset = parseLabelledCsv(csv, ['a', 'b', 'c'], { target: 'continuous' });
    const { metrics, predictions } = await evaluateRegressor(model, dataset);
    expect(predictions[4]).toBeCloseTo(expectedPredictions[4]!, 5);
    expect(metrics.row_count).toBe(5);
    const errors = expectedPredictions.map((p, i) => p - targets[i]!);
    expect(metrics.mae).toBeCloseTo(errors.reduce((a, e) => a + Math.abs(e), 0) / 5, 5);
    expect(metrics.rmse).toBeCloseTo(Math.sqrt(errors.reduce((a, e) => a + e * e, 0) / 5), 5);
  });

  it('narrows a model loaded with a task known only at run time', async () => {
    const task = ['regression', 'binary_classification'][0] as 'regression' | 'binary_classification';
    const loaded: Model = await loadModel(fixture('linreg.onnx'), { task });
    try {
      if (loaded.task !== 'regression') throw new Error('expected a regressor');
      expect((await loaded.predict(Float32Array.from(rows[0]!), 1, 3))[0]).toBeCloseTo(
        expectedPredictions[0]!,
        5,
      );
    } finally {
      await loaded.close();
    }
  });
});

describe('loadModel refuses a model of the other task', () => {
  it('names the missing output and the task the classifier looks like', async () => {
    const err = await rejection(loadModel(fixture('logreg.onnx'), { task: 'regression' }));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toContain('does not follow the model contract for task regression');
    expect(err.message).toContain('no output named "predictions"');
    expect(err.message).toContain('probabilities float32 [?, 2]');
    expect(err.message).toContain('load it with task binary_classification');
  });

  it('says so when a regressor is loaded as a classifier (the default task)', async () => {
    const err = await rejection(loadModel(fixture('linreg.onnx')));
    expect(err.code).toBe('unprocessable');
    expect(err.message).toContain('no output named "probabilities"');
    expect(err.message).toContain('predictions float32 [?, 1]');
    expect(err.message).toContain('load it with task regression');
  });

  it('refuses an unknown task', async () => {
    const err = await rejection(
      loadModel(fixture('linreg.onnx'), { task: 'ranking' as unknown as 'regression' }),
    );
    expect(err.code).toBe('bad_request');
    expect(err.message).toContain('unknown model task "ranking"');
  });
});
