import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ShepherdError } from '@shepherd/core/errors';

/** Names fixed by the trainer contract (packages/contracts/src/trainer.ts). */
export const modelInputName = 'features';
export const modelOutputName = 'probabilities';

/** Rows per `session.run`: large enough to amortise the call, small enough to bound memory. */
export const defaultBatchSize = 8192;

export interface LoadModelOptions {
  batchSize?: number;
  /** Threads ONNX Runtime may use inside one run; its default is one per physical core. */
  intraOpNumThreads?: number;
}

export interface ClassifierModel {
  /** Feature count the model declares for its input, when its shape fixes one. */
  readonly nFeatures: number | undefined;
  /**
   * Positive-class probabilities (column 1 of "probabilities") for `nRows` rows of
   * `nFeatures` float32 values each, row-major.
   */
  predictProba(rows: Float32Array, nRows: number, nFeatures: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Loads an ONNX binary classifier that follows the trainer contract, from bytes or a file path. */
export async function loadModel(
  source: Uint8Array | string,
  options: LoadModelOptions = {},
): Promise<ClassifierModel> {
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
    const nFeatures = validateSignature(session, where);
    return new OnnxClassifier(session, nFeatures, batchSize);
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

/** Checks the contract's signature and returns the declared feature count, if fixed. */
function validateSignature(session: InferenceSession, where: string): number | undefined {
  const problems: string[] = [];
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const input = inputs.find((meta) => meta.name === modelInputName);
  const output = outputs.find((meta) => meta.name === modelOutputName);
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

  if (!output) {
    problems.push(
      `it has no output named "${modelOutputName}" (its outputs: ${outputs.map(describe).join('; ')})`,
    );
  } else if (!output.isTensor) {
    problems.push(
      `output "${modelOutputName}" is not a tensor (a ZipMap of class → probability?); ` +
        'export it as a float32 [N, 2] tensor (skl2onnx: options={"zipmap": False})',
    );
  } else if (
    output.type !== 'float32' ||
    output.shape.length !== 2 ||
    (typeof output.shape[1] === 'number' && output.shape[1] >= 0 && output.shape[1] !== 2)
  ) {
    problems.push(`output "${modelOutputName}" must be a float32 tensor [N, 2], got ${describe(output)}`);
  }

  if (problems.length > 0) {
    throw new ShepherdError(
      'unprocessable',
      `${where} does not follow the model contract: ${problems.join('; ')}`,
      { details: { inputs: inputs.map(describe), outputs: outputs.map(describe) } },
    );
  }
  return nFeatures;
}

class OnnxClassifier implements ClassifierModel {
  constructor(
    private readonly session: InferenceSession,
    readonly nFeatures: number | undefined,
    private readonly batchSize: number,
  ) {}

  async predictProba(rows: Float32Array, nRows: number, nFeatures: number): Promise<Float32Array> {
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
      const probabilities = await this.run(new Tensor('float32', batch, [count, nFeatures]));
      if (
        probabilities.type !== 'float32' ||
        probabilities.dims[0] !== count ||
        probabilities.dims[1] !== 2
      ) {
        throw new ShepherdError(
          'unprocessable',
          `the model returned "${modelOutputName}" as ${probabilities.type} [${probabilities.dims.join(', ')}] ` +
            `for ${count} rows; expected float32 [${count}, 2]`,
        );
      }
      const data = probabilities.data as Float32Array;
      for (let row = 0; row < count; row++) result[start + row] = data[row * 2 + 1]!;
      probabilities.dispose();
    }
    return result;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private async run(features: Tensor): Promise<Tensor> {
    try {
      const outputs = await this.session.run({ [modelInputName]: features }, [modelOutputName]);
      return outputs[modelOutputName]!;
    } catch (err) {
      throw new ShepherdError(
        'unprocessable',
        `the model failed to run: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}
