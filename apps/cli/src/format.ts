import { readFileSync } from 'node:fs';

export const table = (rows: (string | number | null | undefined)[][]): string => {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => String(row[column] ?? '').length)),
  );
  return rows
    .map((row) =>
      row
        .map((cell, column) => String(cell ?? '').padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

export const fmt = (value: number | undefined | null) =>
  value === undefined || value === null ? '-' : value.toFixed(4);

/** A JSON option value, or a message naming the option when it does not parse. */
export function jsonOption(name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  const source = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(source);
  } catch {
    throw new Error(`--${name} must be JSON (or @file.json): ${text}`);
  }
}
