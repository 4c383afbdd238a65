import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ShepherdError } from '@shepherd/core/errors';
import { modelInput, modelOutputs, modelTasks, type ModelTask } from '@shepherd/contracts/trainer';

export type { ModelTask } from '@shepherd/contracts/trainer';

/** Names fixed by the trainer contract (packages/contracts/src/trainer.ts). */
export const modelInputName = modelInput;
/** The classifier's output; a regressor's is `modelOutputs.regression`. */
export const modelOutputName = modelOutputs.binary_classification;

/** Rows per `session.run`: large enough to amortise the call, small enough to bound memory. */
export const defaultBatchSize = 8192;

export interface LoadModelOptions {
  batchSize?: number;
  /** Threads ONNX Runtime may use inside one run; its default is one per physical core. */
  intraOpNumThreads?: number;
  /** Which output the model must have and how it is read; default binary_classification. */
  task?: ModelTask;
}

export interface ClassifierModel {
  /** Optional only so that hand-written fakes of this interface keep compiling; loadModel sets it. */
  readonly task?: 'binary_classification';
  /** Feature count the model declares for its input, when its shape fixes one. */
  readonly nFeatures: number | undefined;
  /**
   * Positive-class probabilities (column 1 of "probabilities") for `nRows` rows of
   * `nFeatures` float32 values each, row-major.
   */
  predictProba(rows: Float32Array, nRows: number, nFeatures: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface RegressorModel {
  readonly task: 'regression';
  /** Feature count the model declares for its input, when its shape fixes one. */
  readonly nFeatures: number | undefined;
  /**
   * One prediction per row (the "predictions" output) for `nRows` rows of `nFeatures` float32
   * values each, row-major.
   */
  predict(rows: Float32Array, nRows: number, nFeatures: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Narrow with `model.task === 'regression'`. */
export type Model = ClassifierModel | RegressorModel;

/**
 * Loads an ONNX model that follows the trainer contract for `options.task` (default
 * binary_classification), from bytes or a file path.
 */
export async function loadModel(
  source: Uint8Array | string,
  options?: LoadModelOptions & { task?: 'binary_classification' },
): Promise<ClassifierModel>;
export async function loadModel(
  source: Uint8Array | string,
  options: LoadModelOptions & { task: 'regression' },
): Promise<RegressorModel>;
export async function loadModel(source: Uint8Array | string, options?: LoadModelOptions): Promise<Model>;
export async function loadModel(source: Uint8Array | string, options: LoadModelOptions = {}): Promise<Model> {
  const task = options.task ?? 'binary_classification';
  if (!(modelTasks as readonly string[]).includes(task)) {
    throw new ShepherdError(
      'bad_request',
      `unknown model task "${String(task)}"; expected one of ${modelTasks.join(', ')}`,
    );
  }
  const batchSize = options.batchSize ?? defaultBatchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ShepherdError('bad_request', `batchSize must be a positive integer, got ${batchSize}`);
  }
  const where = typeof source === 'string' ? source : `${source.byteLength}-byte buffer`;
  const bytes = typeof source === 'string' ? await readModelFile(source) : source;
  if (bytes.byteLength === 0)
    throw new ShepherdError('unprocessable', `${where} is not an ONNX model: it is empty`);

  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
    });
  } catch (err) {
    throw new ShepherdError(
      'unprocessable',
      `${where} is not a loadable ONNX model: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  try {
    const nFeatures = validateSignature(session, where, task);
    return task === 'regression'
      ? new OnnxRegressor(session, nFeatures, batchSize)
      : new OnnxClassifier(session, nFeatures, batchSize);
  } catch (err) {
    await session.release();
    throw err;
  }
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT')
      throw new ShepherdError('not_found', `model file not found: ${path}`, { cause: err });
    throw new ShepherdError('unprocessable', `cannot read model file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function describe(meta: InferenceSession.ValueMetadata): string {
  if (!meta.isTensor) return `${meta.name} (not a tensor)`;
  const shape = meta.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? String(dim) : '?'));
  return `${meta.name} ${meta.type} [${shape.join(', ')}]`;
}

/** Checks the contract's signature for the task and returns the declared feature count, if fixed. */
function validateSignature(session: InferenceSession, where: string, task: ModelTask): number | undefined {
  const problems: string[] = [];
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const input = inputs.find((meta) => meta.name === modelInputName);
  let nFeatures: number | undefined;

  if (!input) {
    problems.push(
      `it has no input named "${modelInputName}" (its inputs: ${inputs.map(describe).join('; ')})`,
    );
  } else if (!input.isTensor || input.type !== 'float32' || input.shape.length !== 2) {
    problems.push(`input "${modelInputName}" must be a float32 tensor [N, F], got ${describe(input)}`);
  } else {
    const features = input.shape[1];
    if (typeof features === 'number' && features > 0) nFeatures = features;
  }
  const extraInputs = inputs.filter((meta) => meta.name !== modelInputName);
  if (extraInputs.length > 0) {
    problems.push(`it needs inputs besides "${modelInputName}": ${extraInputs.map(describe).join('; ')}`);
  }

  const problem = task === 'regression' ? regressionOutputProblem(outputs) : classifierOutputProblem(outputs);
  if (problem !== undefined) problems.push(problem);

  if (problems.length > 0) {
    throw new ShepherdError(
      'unprocessable',
      `${where} does not follow the model contract for task ${task}: ${problems.join('; ')}`,
      { details: { task, inputs: inputs.map(describe), outputs: outputs.map(describe) } },
    );
  }
  return nFeatures;
}

/** A model of the other task is the likeliest mix-up (a regressor registered as a classifier); say so. */
function otherTaskHint(outputs: readonly InferenceSession.ValueMetadata[], task: ModelTask): string {
  const other = task === 'regression' ? 'binary_classification' : 'regression';
  return outputs.some((meta) => meta.name === modelOutputs[other])
    ? `; it has "${modelOutputs[other]}", so it looks like a ${other} model: load it with task ${other}`
    : '';
}

function missingOutput(outputs: readonly InferenceSession.ValueMetadata[], task: ModelTask): string {
  return (
    `it has no output named "${modelOutputs[task]}" (its outputs: ${outputs.map(describe).join('; ')})` +
    otherTaskHint(outputs, task)
  );
}

function classifierOutputProblem(outputs: readonly InferenceSession.ValueMetadata[]): string | undefined {
  const output = outputs.find((meta) => meta.name === modelOutputName);
  if (!output) return missingOutput(outputs, 'binary_classification');
  if (!output.isTensor) {
    return (
      `output "${modelOutputName}" is not a tensor (a ZipMap of class → probability?); ` +
      'export it as a float32 [N, 2] tensor (skl2onnx: options={"zipmap": False})'
    );
  }
  if (
    output.type !== 'float32' ||
    output.shape.length !== 2 ||
    (typeof output.shape[1] === 'number' && output.shape[1] >= 0 && output.shape[1] !== 2)
  ) {
    return `output "${modelOutputName}" must be a float32 tensor [N, 2], got ${describe(output)}`;
  }
  return undefined;
}

function regressionOutputProblem(outputs: readonly InferenceSession.ValueMetadata[]): string | undefined {
  const name = modelOutputs.regression;
  const output = outputs.find((meta) => meta.name === name);
  if (!output) return missingOutput(outputs, 'regression');
  const width = output.isTensor ? output.shape[1] : undefined;
  if (
    !output.isTensor ||
    output.type !== 'float32' ||
    !(output.shape.length === 1 || output.shape.length === 2) ||
    (output.shape.length === 2 && typeof width === 'number' && width >= 0 && width !== 1)
  ) {
    return `output "${name}" must be a float32 tensor [N, 1] or [N], got ${describe(output)}`;
  }
  return undefined;
}

/** Batching, shape checks and error mapping shared by both tasks. */
abstract class OnnxModel {
  constructor(
    private readonly session: InferenceSession,
    readonly nFeatures: number | undefined,
    private readonly batchSize: number,
    private readonly outputName: string,
  ) {}

  async close(): Promise<void> {
    await this.session.release();
  }

  /** Runs `rows` batch by batch; `take` copies one batch's output tensor into the result. */
  protected async score(
    rows: Float32Array,
    nRows: number,
    nFeatures: number,
    take: (output: Tensor, count: number, result: Float32Array, start: number) => void,
  ): Promise<Float32Array> {
    if (!Number.isInteger(nRows) || nRows < 0 || !Number.isInteger(nFeatures) || nFeatures < 1) {
      throw new ShepherdError('bad_request', `invalid shape: ${nRows} rows × ${nFeatures} features`);
    }
    if (rows.length !== nRows * nFeatures) {
      throw new ShepherdError(
        'bad_request',
        `expected ${nRows} × ${nFeatures} = ${nRows * nFeatures} values, got ${rows.length}`,
      );
    }
    if (this.nFeatures !== undefined && nFeatures !== this.nFeatures) {
      throw new ShepherdError(
        'bad_request',
        `the model takes ${this.nFeatures} features per row, got ${nFeatures}`,
      );
    }
    const result = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += this.batchSize) {
      const count = Math.min(this.batchSize, nRows - start);
      const batch = rows.subarray(start * nFeatures, (start + count) * nFeatures);
      const output = await this.run(new Tensor('float32', batch, [count, nFeatures]));
      try {
        take(output, count, result, start);
      } finally {
        output.dispose();
      }
    }
    return result;
  }

  protected unexpected(output: Tensor, count: number, expected: string): ShepherdError {
    return new ShepherdError(
      'unprocessable',
      `the model returned "${this.outputName}" as ${output.type} [${output.dims.join(', ')}] ` +
        `for ${count} rows; expected ${expected}`,
    );
  }

  private async run(features: Tensor): Promise<Tensor> {
    try {
      const outputs = await this.session.run({ [modelInputName]: features }, [this.outputName]);
      return outputs[this.outputName]!;
    } catch (err) {
      throw new ShepherdError(
        'unprocessable',
        `the model failed to run: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}

class OnnxClassifier extends OnnxModel implements ClassifierModel {
  readonly task = 'binary_classification';

  constructor(session: InferenceSession, nFeatures: number | undefined, batchSize: number) {
    super(session, nFeatures, batchSize, modelOutputName);
  }

  predictProba(rows: Float32Array, nRows: number, nFeatures: number): Promise<Float32Array> {
    return this.score(rows, nRows, nFeatures, (probabilities, count, result, start) => {
      if (
        probabilities.type !== 'float32' ||
        probabilities.dims[0] !== count ||
        probabilities.dims[1] !== 2
      ) {
        throw this.unexpected(probabilities, count, `float32 [${count}, 2]`);
      }
      const data = probabilities.data as Float32Array;
      for (let row = 0; row < count; row++) result[start + row] = data[row * 2 + 1]!;
    });
  }
}

class OnnxRegressor extends OnnxModel implements RegressorModel {
  readonly task = 'regression';

  constructor(session: InferenceSession, nFeatures: number | undefined, batchSize: number) {
    super(session, nFeatures, batchSize, modelOutputs.regression);
  }

  predict(rows: Float32Array, nRows: number, nFeatures: number): Promise<Float32Array> {
    return this.score(rows, nRows, nFeatures, (predictions, count, result, start) => {
      const dims = predictions.dims;
      if (
        predictions.type !== 'float32' ||
        dims[0] !== count ||
        !(dims.length === 1 || (dims.length === 2 && dims[1] === 1))
      ) {
        throw this.unexpected(predictions, count, `float32 [${count}, 1] or [${count}]`);
      }
      // [N, 1] and [N] share a layout: one value per row, in row order.
      result.set(predictions.data as Float32Array, start);
    });
  }
}
