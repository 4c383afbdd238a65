import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fraudCsvHeader, toCsvLine, writeCsv } from '../src/csv.ts';
import { fraudFeatureNames, generateFraudRows } from '../src/fraud.ts';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const cli = join(repoRoot, 'packages/datagen/src/cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'datagen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeCsv', () => {
  it('writes the header and one line per row, and the values read back unchanged', async () => {
    const path = join(dir, 'rows.csv');
    const rows = [...generateFraudRows({ rows: 2500, seed: 2 })];
    const summary = await writeCsv(path, rows);
    expect(summary).toEqual({ rows: 2500, positives: rows.filter((row) => row.label === 1).length });

    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(`transaction_id,card_id,event_time,${fraudFeatureNames.join(',')},label`);
    expect(lines[0]).toBe(fraudCsvHeader);
    expect(lines).toHaveLength(rows.length + 2);
    rows.forEach((row, i) => {
      const line = lines[i + 1]!;
      expect(line).toBe(toCsvLine(row));
      const fields = line.split(',');
      expect(fields.slice(0, 3)).toEqual([row.transaction_id, row.card_id, row.event_time]);
      fraudFeatureNames.forEach((name, j) => expect(Number(fields[j + 3])).toBe(row[name]));
      expect(Number(fields.at(-1))).toBe(row.label);
    });
  });

  it('takes an async iterable', async () => {
    const path = join(dir, 'async.csv');
    async function* rows() {
      yield* generateFraudRows({ rows: 10, seed: 1 });
    }
    expect((await writeCsv(path, rows())).rows).toBe(10);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(11);
  });

  it('rejects when the file cannot be written', async () => {
    await expect(writeCsv(join(dir, 'missing/dir/x.csv'), generateFraudRows({ rows: 5 }))).rejects.toThrow(
      /ENOENT/,
    );
  });
});

describe('cli', () => {
  it('writes the requested dataset and reports its fraud rate', async () => {
    const out = join(dir, 'cli.csv');
    const { stdout } = await run(tsx, [
      cli,
      '--rows',
      '3000',
      '--seed',
      '4',
      '--out',
      out,
      '--shuffle-labels',
    ]);
    const report = JSON.parse(stdout) as { rows: number; fraudRate: number };
    expect(report.rows).toBe(3000);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(fraudCsvHeader);
    expect(lines).toHaveLength(3001);
    const expected = [...generateFraudRows({ rows: 3000, seed: 4, shuffleLabels: true })];
    expect(lines[1]).toBe(toCsvLine(expected[0]!));
    expect(report.fraudRate).toBeCloseTo(expected.filter((row) => row.label === 1).length / 3000, 4);
  }, 30_000);

  it('--regression writes the expected-loss target for the same rows', async () => {
    const out = join(dir, 'cli-regression.csv');
    const { stdout } = await run(tsx, [cli, '--rows', '2000', '--seed', '4', '--out', out, '--regression']);
    const report = JSON.parse(stdout) as { rows: number; target: string; meanLabel: number };
    expect(report).toMatchObject({ rows: 2000, target: 'expected_loss' });
    const expected = [...generateFraudRows({ rows: 2000, seed: 4, target: 'expected_loss' })];
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(fraudCsvHeader);
    expect(lines.slice(1)).toEqual(expected.map(toCsvLine));
    expect(report.meanLabel).toBeCloseTo(expected.reduce((sum, row) => sum + row.label, 0) / 2000, 4);
  }, 30_000);

  it('exits 2 with a usage message on bad arguments', async () => {
    const failure = await run(tsx, [cli, '--rows', 'many', '--out', join(dir, 'x.csv')]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toMatch(/--rows must be an integer/);
  }, 30_000);
});
