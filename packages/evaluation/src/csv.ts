import { createReadStream } from 'node:fs';
import { ShepherdError } from '@shepherd/core/errors';

export interface LabelledDataset {
  /** Row-major [nRows, featureNames.length], the layout the model's "features" input takes. */
  features: Float32Array;
  /** 0 or 1 per row. */
  labels: Uint8Array;
  nRows: number;
  featureNames: string[];
}

/** A dataset with a real-valued target, for regression. */
export interface ContinuousLabelledDataset {
  /** Row-major [nRows, featureNames.length], the layout the model's "features" input takes. */
  features: Float32Array;
  /** The target per row, finite, exactly as written in the CSV (float64). */
  labels: Float64Array;
  nRows: number;
  featureNames: string[];
}

/** `binary`: labels must be 0 or 1 (classification); `continuous`: any finite number (regression). */
export type LabelKind = 'binary' | 'continuous';

export interface ReadCsvOptions {
  /** Defaults to "label" (datasetColumns.label in the trainer contract). */
  labelColumn?: string;
  /** Defaults to "binary". */
  target?: LabelKind;
}

type BinaryOptions = ReadCsvOptions & { target?: 'binary' };
type ContinuousOptions = ReadCsvOptions & { target: 'continuous' };

const comma = 0x2c;
const newline = 0x0a;
const carriageReturn = 0x0d;
const minus = 0x2d;
const plus = 0x2b;
const dot = 0x2e;
const zero = 0x30;
const nine = 0x39;

const powersOfTen = Array.from({ length: 23 }, (_, i) => 10 ** i);
const numberPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads a labelled dataset CSV (header row, unquoted fields, "," separated, LF or CRLF) keeping
 * only the named feature columns, in the given order, and the label column. It streams the file
 * and parses bytes directly, so memory is the output arrays plus one chunk.
 */
export async function readLabelledCsv(
  path: string,
  featureNames: readonly string[],
  options?: BinaryOptions,
): Promise<LabelledDataset>;
export async function readLabelledCsv(
  path: string,
  featureNames: readonly string[],
  options: ContinuousOptions,
): Promise<ContinuousLabelledDataset>;
export async function readLabelledCsv(
  path: string,
  featureNames: readonly string[],
  options?: ReadCsvOptions,
): Promise<LabelledDataset | ContinuousLabelledDataset>;
export async function readLabelledCsv(
  path: string,
  featureNames: readonly string[],
  options: ReadCsvOptions = {},
): Promise<LabelledDataset | ContinuousLabelledDataset> {
  const parser = new LabelledCsvParser(path, featureNames, options.labelColumn ?? 'label', kindOf(options));
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
      parser.push(chunk as Buffer);
  } catch (err) {
    if (err instanceof ShepherdError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ShepherdError(
      code === 'ENOENT' ? 'not_found' : 'unprocessable',
      `cannot read dataset ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return parser.finish();
}

/** The same, for CSV text already in memory. */
export function parseLabelledCsv(
  text: string | Uint8Array,
  featureNames: readonly string[],
  options?: BinaryOptions & { source?: string },
): LabelledDataset;
export function parseLabelledCsv(
  text: string | Uint8Array,
  featureNames: readonly string[],
  options: ContinuousOptions & { source?: string },
): ContinuousLabelledDataset;
export function parseLabelledCsv(
  text: string | Uint8Array,
  featureNames: readonly string[],
  options?: ReadCsvOptions & { source?: string },
): LabelledDataset | ContinuousLabelledDataset;
export function parseLabelledCsv(
  text: string | Uint8Array,
  featureNames: readonly string[],
  options: ReadCsvOptions & { source?: string } = {},
): LabelledDataset | ContinuousLabelledDataset {
  const parser = new LabelledCsvParser(
    options.source ?? 'dataset',
    featureNames,
    options.labelColumn ?? 'label',
    kindOf(options),
  );
  parser.push(
    typeof text === 'string' ? Buffer.from(text) : Buffer.from(text.buffer, text.byteOffset, text.byteLength),
  );
  return parser.finish();
}

function kindOf(options: ReadCsvOptions): LabelKind {
  const kind = options.target ?? 'binary';
  if (kind !== 'binary' && kind !== 'continuous') {
    throw new ShepherdError(
      'bad_request',
      `target must be "binary" or "continuous", got ${JSON.stringify(kind as unknown)}`,
    );
  }
  return kind;
}

class LabelledCsvParser {
  private readonly nFeatures: number;
  private features = new Float32Array(0);
  private labels: Uint8Array | Float64Array;
  private nRows = 0;
  private line = 0;
  private leftover: Buffer | undefined;
  /** Per CSV column: -1 to skip, 0..F-1 for a feature, F for the label. */
  private slots: Int32Array | undefined;
  private nColumns = 0;
  private header: string[] = [];
  private readonly row: Float64Array;

  constructor(
    private readonly source: string,
    private readonly featureNames: readonly string[],
    private readonly labelColumn: string,
    private readonly kind: LabelKind,
  ) {
    if (featureNames.length === 0) throw new ShepherdError('bad_request', 'no feature columns requested');
    const duplicate = featureNames.find((name, i) => featureNames.indexOf(name) !== i);
    if (duplicate !== undefined)
      throw new ShepherdError('bad_request', `feature "${duplicate}" is requested twice`);
    if (featureNames.includes(labelColumn)) {
      throw new ShepherdError('bad_request', `the label column "${labelColumn}" cannot also be a feature`);
    }
    this.nFeatures = featureNames.length;
    this.row = new Float64Array(this.nFeatures + 1);
    this.labels = kind === 'binary' ? new Uint8Array(0) : new Float64Array(0);
  }

  push(chunk: Buffer): void {
    const buffer = this.leftover ? Buffer.concat([this.leftover, chunk]) : chunk;
    let start = 0;
    for (let end = buffer.indexOf(newline, start); end !== -1; end = buffer.indexOf(newline, start)) {
      this.parseLine(buffer, start, end);
      start = end + 1;
    }
    this.leftover = start < buffer.length ? buffer.subarray(start) : undefined;
  }

  finish(): LabelledDataset | ContinuousLabelledDataset {
    if (this.leftover && this.leftover.length > 0) this.parseLine(this.leftover, 0, this.leftover.length);
    this.leftover = undefined;
    if (!this.slots)
      throw new ShepherdError('unprocessable', `${this.source} is empty: it has no header row`);
    const features = this.features.slice(0, this.nRows * this.nFeatures);
    const featureNames = [...this.featureNames];
    return this.labels instanceof Uint8Array
      ? { features, labels: this.labels.slice(0, this.nRows), nRows: this.nRows, featureNames }
      : { features, labels: this.labels.slice(0, this.nRows), nRows: this.nRows, featureNames };
  }

  private parseLine(buffer: Buffer, start: number, end: number): void {
    this.line++;
    if (end > start && buffer[end - 1] === carriageReturn) end--;
    if (!this.slots) {
      this.parseHeader(buffer.toString('utf8', start, end));
      return;
    }
    if (end === start) {
      throw new ShepherdError('unprocessable', `${this.source} line ${this.line} is empty`);
    }
    const slots = this.slots;
    const row = this.row;
    let column = 0;
    let fieldStart = start;
    for (let i = start; i <= end; i++) {
      if (i < end && buffer[i] !== comma) continue;
      if (column >= this.nColumns) break;
      const slot = slots[column]!;
      if (slot >= 0) {
        const value = parseNumber(buffer, fieldStart, i);
        if (Number.isNaN(value))
          this.fail(`"${buffer.toString('utf8', fieldStart, i)}" is not a number`, column);
        // Only a long exponent ("1e999") gets here non-finite; a target must be a usable number.
        if (slot === this.nFeatures && !Number.isFinite(value))
          this.fail(
            `a target must be a finite number, got "${buffer.toString('utf8', fieldStart, i)}"`,
            column,
          );
        row[slot] = value;
      }
      column++;
      fieldStart = i + 1;
    }
    if (column !== this.nColumns || fieldStart <= end) {
      let fields = 1;
      for (let i = start; i < end; i++) if (buffer[i] === comma) fields++;
      throw new ShepherdError(
        'unprocessable',
        `${this.source} line ${this.line} has ${fields} fields but the header has ${this.nColumns}`,
      );
    }
    const label = row[this.nFeatures]!;
    if (this.kind === 'binary' && label !== 0 && label !== 1)
      this.fail(`expected 0 or 1, got ${label}`, slots.indexOf(this.nFeatures));

    if (this.nRows === this.labels.length) this.grow();
    const offset = this.nRows * this.nFeatures;
    for (let f = 0; f < this.nFeatures; f++) this.features[offset + f] = row[f]!;
    this.labels[this.nRows] = label;
    this.nRows++;
  }

  private parseHeader(text: string): void {
    const names = text.split(',').map((name) => name.trim());
    this.header = names;
    this.nColumns = names.length;
    const slots = new Int32Array(names.length).fill(-1);
    const wanted = [...this.featureNames, this.labelColumn];
    const missing: string[] = [];
    wanted.forEach((name, slot) => {
      const first = names.indexOf(name);
      if (first === -1) missing.push(name);
      else if (names.indexOf(name, first + 1) !== -1) {
        throw new ShepherdError('unprocessable', `${this.source} has column "${name}" twice in its header`);
      } else slots[first] = slot;
    });
    if (missing.length > 0) {
      throw new ShepherdError(
        'unprocessable',
        `${this.source} is missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} ` +
          `(its header: ${names.join(',')})`,
      );
    }
    this.slots = slots;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.labels.length * 2);
    const features = new Float32Array(capacity * this.nFeatures);
    features.set(this.features);
    const labels = this.kind === 'binary' ? new Uint8Array(capacity) : new Float64Array(capacity);
    labels.set(this.labels);
    this.features = features;
    this.labels = labels;
  }

  private fail(problem: string, column: number): never {
    throw new ShepherdError(
      'unprocessable',
      `${this.source} line ${this.line}, column "${this.header[column] ?? column + 1}": ${problem}`,
    );
  }
}

/**
 * Decimal fields like "-12.345" take a fast path: digits accumulated as an integer and divided by
 * a power of ten, which is correctly rounded while both stay exact in a double (<= 15 digits,
 * <= 22 decimals). Anything else (exponents, long digit strings) goes through Number() after a
 * strict pattern check, since Number() alone accepts "", " 1", "0x1f" and "Infinity".
 * Returns NaN for anything that is not a number.
 */
function parseNumber(buffer: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (i < end && (buffer[i] === minus || buffer[i] === plus)) {
    negative = buffer[i] === minus;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let decimals = 0;
  let seenDot = false;
  let seenDigit = false;
  for (; i < end; i++) {
    const byte = buffer[i]!;
    if (byte >= zero && byte <= nine) {
      seenDigit = true;
      mantissa = mantissa * 10 + (byte - zero);
      if (mantissa !== 0) digits++;
      if (seenDot) decimals++;
    } else if (byte === dot && !seenDot) {
      seenDot = true;
    } else {
      break;
    }
  }
  if (i === end && seenDigit && digits <= 15 && decimals <= 22) {
    const magnitude = decimals === 0 ? mantissa : mantissa / powersOfTen[decimals]!;
    return negative ? -magnitude : magnitude;
  }
  const text = buffer.toString('latin1', start, end);
  return numberPattern.test(text) ? Number(text) : NaN;
}
