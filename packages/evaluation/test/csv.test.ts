import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { parseLabelledCsv, readLabelledCsv } from '../src/csv.ts';

const header = 'transaction_id,event_time,amount,hour,merchant_risk,label';
const csv = [
  header,
  't1,2026-01-01T00:00:00Z,12.5,3,0.25,0',
  't2,2026-01-01T00:00:01Z,-7,23,1e-3,1',
  't3,2026-01-01T00:00:02Z,.5,0,+0.125,0',
].join('\n');

function unprocessable(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ShepherdError);
    expect((err as ShepherdError).code).toBe('unprocessable');
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('parseLabelledCsv', () => {
  it('takes the named feature columns in the requested order, and the label', () => {
    const dataset = parseLabelledCsv(csv, ['merchant_risk', 'amount', 'hour']);
    expect(dataset.nRows).toBe(3);
    expect(dataset.featureNames).toEqual(['merchant_risk', 'amount', 'hour']);
    expect(Array.from(dataset.features)).toEqual([0.25, 12.5, 3, Math.fround(1e-3), -7, 23, 0.125, 0.5, 0]);
    expect(Array.from(dataset.labels)).toEqual([0, 1, 0]);
    expect(dataset.features.length).toBe(9);
  });

  it('handles CRLF line ends, a trailing newline and another label column', () => {
    const text = 'a,target,b\r\n1,1,2\r\n3,0,4\r\n';
    const dataset = parseLabelledCsv(text, ['b', 'a'], { labelColumn: 'target' });
    expect(Array.from(dataset.features)).toEqual([2, 1, 4, 3]);
    expect(Array.from(dataset.labels)).toEqual([1, 0]);
  });

  it('parses numbers exactly as Number() does, then rounds to float32', () => {
    const values = [
      '0',
      '-0.0',
      '123456.789',
      '0.1',
      '-2.5e-3',
      '1E10',
      '3.14159265358979',
      '1234567890123456789',
      '00012.50',
    ];
    const text = ['x,label', ...values.map((v) => `${v},1`)].join('\n');
    const dataset = parseLabelledCsv(text, ['x']);
    expect(Array.from(dataset.features)).toEqual(values.map((v) => Math.fround(Number(v))));
  });

  it('names the missing columns and shows the header', () => {
    expect(unprocessable(() => parseLabelledCsv(csv, ['amount', 'velocity', 'country']))).toBe(
      'dataset is missing columns "velocity", "country" ' +
        '(its header: transaction_id,event_time,amount,hour,merchant_risk,label)',
    );
    expect(unprocessable(() => parseLabelledCsv('a,b\n1,2', ['a']))).toContain('missing column "label"');
  });

  it.each([
    ['abc', '"abc" is not a number'],
    ['', '"" is not a number'],
    [' 1', '" 1" is not a number'],
    ['0x1f', '"0x1f" is not a number'],
    ['NaN', '"NaN" is not a number'],
    ['1.2.3', '"1.2.3" is not a number'],
    ['-', '"-" is not a number'],
    ['.', '"." is not a number'],
  ])('names the line and column of the non-numeric value %j', (value, problem) => {
    const text = `${header}\nt1,x,1,2,3,0\nt2,x,4,${value},6,1\n`;
    expect(unprocessable(() => parseLabelledCsv(text, ['amount', 'hour'], { source: 'holdout.csv' }))).toBe(
      `holdout.csv line 3, column "hour": ${problem}`,
    );
  });

  it('refuses labels other than 0 and 1, ragged rows and blank lines', () => {
    expect(unprocessable(() => parseLabelledCsv('x,label\n1,2', ['x']))).toBe(
      'dataset line 2, column "label": expected 0 or 1, got 2',
    );
    expect(unprocessable(() => parseLabelledCsv('x,y,label\n1,2,0\n1,2', ['x']))).toBe(
      'dataset line 3 has 2 fields but the header has 3',
    );
    expect(unprocessable(() => parseLabelledCsv('x,y,label\n1,2,0,9', ['x']))).toBe(
      'dataset line 2 has 4 fields but the header has 3',
    );
    expect(unprocessable(() => parseLabelledCsv('x,label\n1,0\n\n1,1', ['x']))).toBe(
      'dataset line 3 is empty',
    );
    expect(unprocessable(() => parseLabelledCsv('', ['x']))).toContain('no header row');
  });

  it('accepts a header-only file as zero rows', () => {
    expect(parseLabelledCsv('x,label\n', ['x'])).toMatchObject({ nRows: 0, featureNames: ['x'] });
  });

  it('refuses a feature list that asks for nonsense', () => {
    expect(() => parseLabelledCsv(csv, [])).toThrow('no feature columns');
    expect(() => parseLabelledCsv(csv, ['amount', 'amount'])).toThrow('requested twice');
    expect(() => parseLabelledCsv(csv, ['label'])).toThrow('cannot also be a feature');
  });
});

describe('readLabelledCsv', () => {
  let dir: string;
  const featureNames = Array.from({ length: 12 }, (_, i) => `f${i}`);
  const nRows = 1_000_000;
  let bigFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shepherd-csv-'));
    bigFile = join(dir, 'big.csv');
    const out = createWriteStream(bigFile);
    out.write(`transaction_id,event_time,${featureNames.join(',')},label\n`);
    let block = '';
    for (let row = 0; row < nRows; row++) {
      const values = featureNames.map((_, f) => (((row * 31 + f * 17) % 10007) / 97 - 50).toFixed(4));
      block += `tx${row},2026-01-01T00:00:00Z,${values.join(',')},${row % 5 === 0 ? 1 : 0}\n`;
      if (block.length > 1 << 20) {
        out.write(block);
        block = '';
      }
    }
    out.end(block);
    await finished(out);
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file whose lines straddle chunk boundaries', async () => {
    const file = join(dir, 'small.csv');
    await writeFile(file, csv);
    const dataset = await readLabelledCsv(file, ['amount']);
    expect(Array.from(dataset.features)).toEqual([12.5, -7, 0.5]);
  });

  it('reads 1M rows × 12 features in a few seconds, every value intact', async () => {
    const started = performance.now();
    const dataset = await readLabelledCsv(bigFile, featureNames);
    const seconds = (performance.now() - started) / 1000;
    expect(dataset.nRows).toBe(nRows);
    expect(dataset.features.length).toBe(nRows * 12);
    for (const row of [0, 1, 499_999, nRows - 1]) {
      for (let f = 0; f < 12; f++) {
        const expected = Math.fround(Number((((row * 31 + f * 17) % 10007) / 97 - 50).toFixed(4)));
        expect(dataset.features[row * 12 + f]).toBe(expected);
      }
      expect(dataset.labels[row]).toBe(row % 5 === 0 ? 1 : 0);
    }
    // Generous bound for slow CI machines; locally this is well under 2 s.
    expect(seconds).toBeLessThan(10);
  }, 30_000);

  it('maps a missing file to not_found', async () => {
    await expect(readLabelledCsv(join(dir, 'missing.csv'), ['x'])).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

describe('parseLabelledCsv with a continuous target', () => {
  it('keeps the targets as float64, exactly as written', () => {
    const text = 'id,x,label\nr1,1,0.1\nr2,2,-12.75\nr3,3,1e6\nr4,4,123456.789012345\n';
    const dataset = parseLabelledCsv(text, ['x'], { target: 'continuous' });
    expect(dataset.labels).toBeInstanceOf(Float64Array);
    expect(Array.from(dataset.labels)).toEqual([0.1, -12.75, 1e6, 123456.789012345]);
    expect(Array.from(dataset.features)).toEqual([1, 2, 3, 4]);
    expect(dataset.nRows).toBe(4);
  });

  it('grows past its first allocation', () => {
    const n = 3000;
    const lines = ['x,label', ...Array.from({ length: n }, (_, i) => `${i},${i / 8}`)];
    const dataset = parseLabelledCsv(lines.join('\n'), ['x'], { target: 'continuous' });
    expect(dataset.nRows).toBe(n);
    expect(dataset.labels[n - 1]).toBe((n - 1) / 8);
  });

  it.each([
    ['inf', '"inf" is not a number'],
    ['NaN', '"NaN" is not a number'],
    ['', '"" is not a number'],
    ['1e999', 'a target must be a finite number, got "1e999"'],
  ])('refuses %j naming the line and column', (value, problem) => {
    const message = unprocessable(() =>
      parseLabelledCsv(`id,x,amount_lost\nr1,1,2.5\nr2,2,${value}\n`, ['x'], {
        target: 'continuous',
        labelColumn: 'amount_lost',
        source: 'losses.csv',
      }),
    );
    expect(message).toBe(`losses.csv line 3, column "amount_lost": ${problem}`);
  });

  it('still refuses non-binary labels by default', () => {
    expect(unprocessable(() => parseLabelledCsv('x,label\n1,0.5\n', ['x']))).toContain(
      'expected 0 or 1, got 0.5',
    );
  });

  it('reads a file the same way', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shepherd-csv-continuous-'));
    try {
      const path = join(dir, 'targets.csv');
      await writeFile(path, 'x,label\r\n1,2.25\r\n2,-3\r\n');
      const dataset = await readLabelledCsv(path, ['x'], { target: 'continuous' });
      expect(Array.from(dataset.labels)).toEqual([2.25, -3]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
