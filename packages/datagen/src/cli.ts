import { parseArgs } from 'node:util';
import { writeCsv } from './csv.ts';
import { generateFraudRows, type DatasetOptions, type DatasetRow } from './fraud.ts';

const usage = `usage: tsx packages/datagen/src/cli.ts --rows N --out FILE [options]

  --rows N              number of transactions (required)
  --out FILE            CSV file to write (required)
  --seed N              PRNG seed (default 1)
  --cards N             number of cards (default rows/100, at least 10)
  --start ISO           start of the simulated period (default 2025-01-01T00:00:00Z)
  --days N              length of the simulated period in days (default 30)
  --drift               shifted merchant mix and larger amounts
  --label-noise P       permute the labels of a fraction P of rows
  --shuffle-labels      permute every label (same fraud rate, no signal)
  --regression          label = expected loss of the transaction (a non-negative amount) instead
                        of the 0/1 fraud label; the features are the same rows
`;

function fail(message: string): never {
  process.stderr.write(`datagen: ${message}\n\n${usage}`);
  process.exit(2);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) fail(`--${name} must be an integer, got "${value}"`);
  return parsed;
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) fail(`--${name} must be a number, got "${value}"`);
  return parsed;
}

let args;
try {
  args = parseArgs({
    options: {
      rows: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      cards: { type: 'string' },
      start: { type: 'string' },
      days: { type: 'string' },
      drift: { type: 'boolean', default: false },
      'label-noise': { type: 'string' },
      'shuffle-labels': { type: 'boolean', default: false },
      regression: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail((error as Error).message);
}
if (args.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const rows = integer('rows', args.rows) ?? fail('--rows is required');
const out = args.out ?? fail('--out is required');

const options: DatasetOptions = {
  rows,
  seed: integer('seed', args.seed),
  cards: integer('cards', args.cards),
  start: args.start,
  days: number('days', args.days),
  drift: args.drift,
  labelNoise: number('label-noise', args['label-noise']),
  shuffleLabels: args['shuffle-labels'],
  target: args.regression ? 'expected_loss' : 'fraud',
};

let labelSum = 0;
function* tally(rows: Iterable<DatasetRow>): Generator<DatasetRow> {
  for (const row of rows) {
    labelSum += row.label;
    yield row;
  }
}

try {
  const started = Date.now();
  const summary = await writeCsv(out, tally(generateFraudRows(options)));
  const ms = Date.now() - started;
  const report =
    options.target === 'expected_loss'
      ? {
          out,
          rows: summary.rows,
          target: options.target,
          meanLabel: Number((summary.rows === 0 ? 0 : labelSum / summary.rows).toFixed(5)),
          ms,
        }
      : {
          out,
          rows: summary.rows,
          fraudRate: Number((summary.rows === 0 ? 0 : summary.positives / summary.rows).toFixed(5)),
          ms,
        };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (error) {
  if (error instanceof RangeError) fail(error.message);
  process.stderr.write(`datagen: ${(error as Error).message}\n`);
  process.exit(1);
}
