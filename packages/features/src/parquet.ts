/**
 * A Parquet writer for what training sets are: flat, nullable columns of strings, doubles,
 * booleans and millisecond timestamps. Each column of a row group is one data page (v1, PLAIN
 * values, definition levels as a bit-packed or RLE hybrid), Snappy-compressed in native code.
 *
 * A general writer (hyparquet-writer) took 2.4–2.8 s of the 4–5 s a 1M-row training set cost to
 * build, most of it in per-value conversions and the garbage they left; this one writes each
 * value once, straight into the page buffer. What it writes is checked by reading it back with
 * hyparquet (test/parquet.test.ts) and, in the point-in-time benchmark, with DuckDB.
 */
import { compressSync as snappyCompress } from 'snappy';

export type ParquetColumnType = 'STRING' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP';

export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
  /** One value per row; null (or undefined) is a missing value. TIMESTAMP: epoch milliseconds. */
  data: readonly unknown[];
}

export interface ParquetWriteOptions {
  /** Rows per row group; default 100,000. */
  rowGroupSize?: number;
}

// Parquet's Thrift enums, as parquet.thrift numbers them.
const physical = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const convertedType = { UTF8: 0, TIMESTAMP_MILLIS: 9 } as const;
const encoding = { PLAIN: 0, RLE: 3 } as const;
const codecSnappy = 1;
const optional = 1;
const dataPage = 0;

const magic = Buffer.from('PAR1', 'ascii');

export function writeParquetColumns(
  columns: readonly ParquetColumn[],
  options: ParquetWriteOptions = {},
): Uint8Array {
  const rowGroupSize = options.rowGroupSize ?? 100_000;
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new RangeError(`rowGroupSize must be a positive integer, got ${rowGroupSize}`);
  }
  const rows = columns[0]?.data.length ?? 0;
  for (const column of columns) {
    if (column.data.length !== rows) {
      throw new Error(`parquet column '${column.name}' has ${column.data.length} values, not ${rows}`);
    }
  }
  const parts: Uint8Array[] = [magic];
  let offset = magic.length;
  const rowGroups: ThriftStruct[] = [];
  for (let from = 0; from < rows; from += rowGroupSize) {
    const to = Math.min(rows, from + rowGroupSize);
    const chunks: ThriftStruct[] = [];
    let groupBytes = 0;
    for (const column of columns) {
      const body = encodePage(column, from, to);
      const compressed = snappyCompress(body);
      const header = Thrift.encode([
        [1, Thrift.i32, dataPage],
        [2, Thrift.i32, body.length],
        [3, Thrift.i32, compressed.length],
        [
          5,
          Thrift.struct,
          [
            [1, Thrift.i32, to - from],
            [2, Thrift.i32, encoding.PLAIN],
            [3, Thrift.i32, encoding.RLE],
            [4, Thrift.i32, encoding.RLE],
          ],
        ],
      ]);
      const pageOffset = offset;
      parts.push(header, compressed);
      offset += header.length + compressed.length;
      const uncompressed = header.length + body.length;
      const written = header.length + compressed.length;
      groupBytes += uncompressed;
      chunks.push([
        [2, Thrift.i64, pageOffset],
        [
          3,
          Thrift.struct,
          [
            [1, Thrift.i32, physicalType(column.type)],
            [2, Thrift.list, [Thrift.i32, [encoding.PLAIN, encoding.RLE]]],
            [3, Thrift.list, [Thrift.binary, [column.name]]],
            [4, Thrift.i32, codecSnappy],
            [5, Thrift.i64, to - from],
            [6, Thrift.i64, uncompressed],
            [7, Thrift.i64, written],
            [9, Thrift.i64, pageOffset],
          ],
        ],
      ]);
    }
    rowGroups.push([
      [1, Thrift.list, [Thrift.struct, chunks]],
      [2, Thrift.i64, groupBytes],
      [3, Thrift.i64, to - from],
    ]);
  }
  const schema: ThriftStruct[] = [
    [
      [4, Thrift.binary, 'schema'],
      [5, Thrift.i32, columns.length],
    ],
    ...columns.map((column) => schemaElement(column)),
  ];
  const footer = Thrift.encode([
    [1, Thrift.i32, 1],
    [2, Thrift.list, [Thrift.struct, schema]],
    [3, Thrift.i64, rows],
    [4, Thrift.list, [Thrift.struct, rowGroups]],
    [6, Thrift.binary, 'shepherd'],
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.length);
  parts.push(footer, length, magic);
  return Buffer.concat(parts);
}

function physicalType(type: ParquetColumnType): number {
  switch (type) {
    case 'STRING':
      return physical.BYTE_ARRAY;
    case 'DOUBLE':
      return physical.DOUBLE;
    case 'BOOLEAN':
      return physical.BOOLEAN;
    case 'TIMESTAMP':
      return physical.INT64;
  }
}

function schemaElement(column: ParquetColumn): ThriftStruct {
  const fields: ThriftStruct = [
    [1, Thrift.i32, physicalType(column.type)],
    [3, Thrift.i32, optional],
    [4, Thrift.binary, column.name],
  ];
  // Converted types only (UTF8, TIMESTAMP_MILLIS: adjusted to UTC), as readers have long known them.
  if (column.type === 'STRING') fields.push([6, Thrift.i32, convertedType.UTF8]);
  if (column.type === 'TIMESTAMP') fields.push([6, Thrift.i32, convertedType.TIMESTAMP_MILLIS]);
  return fields;
}

/** One column's rows [from, to) as a v1 page body: 4-byte length + definition levels, then values. */
function encodePage(column: ParquetColumn, from: number, to: number): Uint8Array {
  const { data, type, name } = column;
  const count = to - from;
  let present = 0;
  let valueBytes = 0;
  for (let i = from; i < to; i++) {
    const value = data[i];
    if (value === null || value === undefined) continue;
    present++;
    if (type === 'STRING') {
      if (typeof value !== 'string')
        throw new TypeError(`parquet column '${name}' (STRING) holds a ${typeof value}`);
      valueBytes += 4 + Buffer.byteLength(value, 'utf8');
    } else if (type === 'BOOLEAN') {
      if (typeof value !== 'boolean')
        throw new TypeError(`parquet column '${name}' (BOOLEAN) holds a ${typeof value}`);
    } else if (typeof value !== 'number') {
      throw new TypeError(`parquet column '${name}' (${type}) holds a ${typeof value}`);
    }
  }
  if (type === 'DOUBLE' || type === 'TIMESTAMP') valueBytes = present * 8;
  else if (type === 'BOOLEAN') valueBytes = Math.ceil(present / 8);

  const levels = definitionLevels(data, from, to, present === count);
  const body = Buffer.allocUnsafe(4 + levels.length + valueBytes);
  body.writeUInt32LE(levels.length, 0);
  body.set(levels, 4);
  let at = 4 + levels.length;
  if (type === 'DOUBLE') {
    for (let i = from; i < to; i++) {
      const value = data[i];
      if (value === null || value === undefined) continue;
      body.writeDoubleLE(value as number, at);
      at += 8;
    }
  } else if (type === 'TIMESTAMP') {
    for (let i = from; i < to; i++) {
      const value = data[i];
      if (value === null || value === undefined) continue;
      body.writeBigInt64LE(BigInt(Math.trunc(value as number)), at);
      at += 8;
    }
  } else if (type === 'STRING') {
    for (let i = from; i < to; i++) {
      const value = data[i];
      if (value === null || value === undefined) continue;
      const written = body.write(value as string, at + 4, 'utf8');
      body.writeUInt32LE(written, at);
      at += 4 + written;
    }
  } else {
    body.fill(0, at);
    let bit = 0;
    for (let i = from; i < to; i++) {
      const value = data[i];
      if (value === null || value === undefined) continue;
      if (value === true) body[at + (bit >> 3)]! |= 1 << (bit & 7);
      bit++;
    }
  }
  return body;
}

/**
 * Definition levels (bit width 1) in the RLE / bit-packed hybrid: one RLE run of 1s when every
 * value is present, else bit-packed runs of up to 63 groups of 8 (the longest run other writers
 * emit; the last group is padded, and readers stop at the page's value count).
 */
function definitionLevels(
  data: readonly unknown[],
  from: number,
  to: number,
  allPresent: boolean,
): Uint8Array {
  const count = to - from;
  if (count === 0) return new Uint8Array(0);
  if (allPresent) return Uint8Array.from([...varint(count << 1), 1]);
  const groups = Math.ceil(count / 8);
  const out = new Uint8Array(groups + Math.ceil(groups / 63) * 2);
  let at = 0;
  for (let group = 0; group < groups; group += 63) {
    const run = Math.min(63, groups - group);
    for (const byte of varint((run << 1) | 1)) out[at++] = byte;
    for (let g = 0; g < run; g++) {
      let byte = 0;
      const base = from + (group + g) * 8;
      for (let b = 0; b < 8 && base + b < to; b++) {
        const value = data[base + b];
        if (value !== null && value !== undefined) byte |= 1 << b;
      }
      out[at++] = byte;
    }
  }
  return out.subarray(0, at);
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return bytes;
}

/** Just enough of Thrift's compact protocol for Parquet's page headers and footer. */
const Thrift = {
  i32: 'i32',
  i64: 'i64',
  binary: 'binary',
  list: 'list',
  struct: 'struct',
  encode(fields: ThriftStruct): Uint8Array {
    const out: number[] = [];
    writeStruct(out, fields);
    return Uint8Array.from(out);
  },
} as const;

type ThriftType = 'i32' | 'i64' | 'binary' | 'list' | 'struct';
type ThriftList = [ThriftType, unknown[]];
type ThriftField =
  | [number, 'i32' | 'i64', number]
  | [number, 'binary', string]
  | [number, 'list', ThriftList]
  | [number, 'struct', ThriftStruct];
type ThriftStruct = ThriftField[];

const thriftCode: Record<ThriftType, number> = { i32: 5, i64: 6, binary: 8, list: 9, struct: 12 };

function writeStruct(out: number[], fields: ThriftStruct): void {
  let last = 0;
  for (const [id, type, value] of fields) {
    const typeCode = thriftCode[type];
    // The id as a delta in the header's high nibble when it fits, else in full after it.
    const delta = id - last;
    if (delta > 0 && delta <= 15) out.push((delta << 4) | typeCode);
    else out.push(typeCode, ...varint(zigzag(id)));
    last = id;
    writeValue(out, type, value);
  }
  out.push(0);
}

function writeValue(out: number[], type: ThriftType, value: unknown): void {
  switch (type) {
    case 'i32':
    case 'i64':
      out.push(...varint(zigzag(value as number)));
      return;
    case 'binary': {
      const bytes = Buffer.from(value as string, 'utf8');
      out.push(...varint(bytes.length));
      for (const byte of bytes) out.push(byte);
      return;
    }
    case 'list': {
      const [elementType, items] = value as ThriftList;
      const elementCode = thriftCode[elementType];
      if (items.length < 15) out.push((items.length << 4) | elementCode);
      else out.push(0xf0 | elementCode, ...varint(items.length));
      for (const item of items) writeValue(out, elementType, item);
      return;
    }
    case 'struct':
      writeStruct(out, value as ThriftStruct);
      return;
  }
}

/** Zigzag for any safe integer (i64 offsets and sizes pass 2^31 in a large file). */
function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}
