import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fraudColumns, type DatasetRow } from './fraud.ts';

export const fraudCsvHeader = fraudColumns.join(',');

export function toCsvLine(row: DatasetRow): string {
  return fraudColumns.map((column) => csvField(row[column])).join(',');
}

function csvField(value: string | number): string {
  if (typeof value === 'number') return String(value);
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export interface CsvSummary {
  rows: number;
  /** Rows labelled 1 (meaningful for the fraud target). */
  positives: number;
}

/**
 * Writes `rows` as CSV with a header row, streaming (memory stays flat for millions of rows), and
 * resolves once the file is fully written.
 */
export async function writeCsv(
  path: string,
  rows: Iterable<DatasetRow> | AsyncIterable<DatasetRow>,
): Promise<CsvSummary> {
  const summary: CsvSummary = { rows: 0, positives: 0 };
  async function* chunks(): AsyncGenerator<string> {
    let chunk = fraudCsvHeader + '\n';
    for await (const row of rows) {
      summary.rows++;
      if (row.label === 1) summary.positives++;
      chunk += toCsvLine(row) + '\n';
      // Batching lines keeps per-write overhead off the hot path.
      if (chunk.length >= 1 << 16) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk.length > 0) yield chunk;
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return summary;
}
