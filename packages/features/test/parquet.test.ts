import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { writeParquetColumns, type ParquetColumn } from '../src/parquet.ts';

const read = (bytes: Uint8Array) =>
  parquetReadObjects({
    file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  });

/** Small deterministic generator: the same data on every run. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('writeParquetColumns', () => {
  it('writes strings, doubles, booleans and timestamps with nulls that read back exactly', async () => {
    const columns: ParquetColumn[] = [
      { name: 'id', type: 'STRING', data: ['a', '', 'ünïcødé 🐑', null, 'tab\there', 'x'.repeat(300)] },
      { name: 'amount', type: 'DOUBLE', data: [1.5, null, -0, 1e300, Number.MIN_VALUE, 42] },
      { name: 'flag', type: 'BOOLEAN', data: [true, false, null, true, true, false] },
      {
        name: 'event_time',
        type: 'TIMESTAMP',
        data: [Date.UTC(2026, 0, 1), null, 0, -86_400_000, Date.UTC(2026, 10, 30, 9, 0, 0, 123), 1],
      },
    ];
    const rows = await read(writeParquetColumns(columns));
    expect(rows).toHaveLength(6);
    for (const [i, row] of rows.entries()) {
      expect(row.id).toBe(columns[0]!.data[i]);
      expect(Object.is(row.amount, columns[1]!.data[i]) || row.amount === columns[1]!.data[i]).toBe(true);
      expect(row.flag).toBe(columns[2]!.data[i]);
      const time = columns[3]!.data[i] as number | null;
      expect(row.event_time === null ? null : (row.event_time as Date).getTime()).toBe(time);
    }
  });

  it('splits rows into row groups and keeps every value in order, whatever the null pattern', async () => {
    const next = random(7);
    const rows = 2_345;
    // Runs of nulls, single nulls, and none at all: the definition levels take every path.
    const sparse = Array.from({ length: rows }, (_, i) =>
      next() < 0.3 || (i > 500 && i < 900) ? null : next(),
    );
    const dense = Array.from({ length: rows }, (_, i) => i * 0.5);
    const names = Array.from({ length: rows }, (_, i) => (i % 17 === 0 ? null : `entity-${i % 101}`));
    const bits = Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : next() < 0.5));
    const bytes = writeParquetColumns(
      [
        { name: 'sparse', type: 'DOUBLE', data: sparse },
        { name: 'dense', type: 'DOUBLE', data: dense },
        { name: 'names', type: 'STRING', data: names },
        { name: 'bits', type: 'BOOLEAN', data: bits },
      ],
      { rowGroupSize: 1_000 },
    );
    const metadata = parquetMetadata(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([1_000, 1_000, 345]);
    expect(Number(metadata.num_rows)).toBe(rows);
    const back = await read(bytes);
    expect(back.map((r) => r.sparse)).toEqual(sparse);
    expect(back.map((r) => r.dense)).toEqual(dense);
    expect(back.map((r) => r.names)).toEqual(names);
    expect(back.map((r) => r.bits)).toEqual(bits);
  });

  it('is read back the same by a second, independent reader (DuckDB)', async () => {
    const next = random(11);
    const rows = 1_500;
    const amounts = Array.from({ length: rows }, () =>
      next() < 0.2 ? null : Math.round(next() * 1e6) / 100,
    );
    const ids = Array.from({ length: rows }, (_, i) => (i % 13 === 0 ? null : `card-${i} ✓`));
    const times = Array.from({ length: rows }, (_, i) =>
      i % 7 === 0 ? null : Date.UTC(2026, 5, 1) + i * 1_001,
    );
    const flags = Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : i % 3 === 0));
    const dir = await mkdtemp(join(tmpdir(), 'shepherd-parquet-'));
    const instance = await DuckDBInstance.create(':memory:');
    const duck = await instance.connect();
    try {
      const path = join(dir, 'set.parquet');
      await writeFile(
        path,
        writeParquetColumns(
          [
            { name: 'amount', type: 'DOUBLE', data: amounts },
            { name: 'id', type: 'STRING', data: ids },
            { name: 'event_time', type: 'TIMESTAMP', data: times },
            { name: 'flag', type: 'BOOLEAN', data: flags },
          ],
          { rowGroupSize: 400 },
        ),
      );
      const reader = await duck.runAndReadAll(
        `select amount, id, epoch_ms(event_time) as t, flag from read_parquet('${path}')`,
      );
      const [amount, id, t, flag] = reader.getColumnsJS();
      expect(amount).toEqual(amounts);
      expect(id).toEqual(ids);
      expect(t).toEqual(times.map((v) => (v === null ? null : BigInt(v))));
      expect(flag).toEqual(flags);
    } finally {
      duck.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes a file with no rows, and refuses a value of the wrong type naming its column', async () => {
    const empty = writeParquetColumns([{ name: 'id', type: 'STRING', data: [] }]);
    expect(await read(empty)).toEqual([]);
    expect(() => writeParquetColumns([{ name: 'amount', type: 'DOUBLE', data: [1, '2'] }])).toThrow(
      /column 'amount' \(DOUBLE\) holds a string/,
    );
    expect(() =>
      writeParquetColumns([
        { name: 'a', type: 'DOUBLE', data: [1] },
        { name: 'b', type: 'DOUBLE', data: [] },
      ]),
    ).toThrow(/'b' has 0 values, not 1/);
  });
});
