/**
 * Runs the benchmarks in bench/ one after another and writes bench/results/latest.{md,json}.
 *
 *   npm run bench                      every benchmark
 *   npm run bench -- ingestion online  just these (their results replace the earlier ones by name)
 *   BENCH_QUICK=1 npm run bench        small data: checks the harness, not for figures
 *
 * A benchmark is `bench/<name>.ts` whose default export is a `Benchmark` (bench/lib.ts). They run
 * one at a time: they share two cores with the local stack, and each measures its reference in the
 * same run, so ratios stay meaningful on a noisy machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, BenchResult } from './lib.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(benchDir, 'results');
/** Files in bench/ that are not benchmarks; helpers go in `_name.ts` (and scratch files are never run). */
const notBenchmarks = new Set(['lib.ts', 'run.ts']);
const isHelper = (file: string) => file.startsWith('_') || file.startsWith('scratch');

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  commit: string | null;
}

export interface RecordedResult extends BenchResult {
  ranAt: string;
  durationSeconds: number;
  quick: boolean;
  machine: Machine;
}

export interface FailedRun {
  name: string;
  ranAt: string;
  error: string;
}

export interface Report {
  generatedAt: string;
  machine: Machine;
  results: RecordedResult[];
  failures: FailedRun[];
}

function describeMachine(): Machine {
  const cpu = cpus();
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: benchDir,
      encoding: 'utf8',
    }).trim();
  } catch {
    commit = null;
  }
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()}`,
    commit,
  };
}

async function available(): Promise<string[]> {
  return (await readdir(benchDir))
    .filter(
      (file) =>
        file.endsWith('.ts') && !file.endsWith('.d.ts') && !notBenchmarks.has(file) && !isHelper(file),
    )
    .map((file) => file.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Benchmark | undefined> {
  const module = (await import(pathToFileURL(join(benchDir, `${name}.ts`)).href)) as { default?: unknown };
  return typeof module.default === 'function' ? (module.default as Benchmark) : undefined;
}

async function previous(): Promise<Report | undefined> {
  try {
    return JSON.parse(await readFile(join(resultsDir, 'latest.json'), 'utf8')) as Report;
  } catch {
    return undefined;
  }
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const lines = [
    '# Benchmark results',
    '',
    `Generated ${report.generatedAt} by \`npm run bench\` (see bench/README.md to rerun one).`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}` +
      (m.commit ? `, commit ${m.commit}` : ''),
    '',
    '| benchmark | ratio | target | met |',
    '| --- | --- | --- | --- |',
    ...report.results.map(
      (r) =>
        `| ${r.name}${r.quick ? ' (quick)' : ''} | ${r.ratio.label}: **${formatNumber(r.ratio.value)}** | ${r.target.description} | ${r.target.met ? 'yes' : 'no'} |`,
    ),
    '',
  ];
  for (const r of report.results) {
    lines.push(`## ${r.name}`, '', r.description, '', `Reference: ${r.reference}.`, '');
    lines.push(
      `Ran ${r.ranAt} in ${formatNumber(r.durationSeconds)} s${r.quick ? ' with BENCH_QUICK=1 (not for figures)' : ''}` +
        (r.machine.commit && r.machine.commit !== m.commit ? ` at commit ${r.machine.commit}` : '') +
        '.',
      '',
    );
    lines.push('| figure | value |', '| --- | --- |');
    for (const [key, value] of Object.entries(r.figures)) lines.push(`| ${key} | ${formatNumber(value)} |`);
    lines.push('');
    if (r.notes.length > 0) {
      for (const note of r.notes) lines.push(`- ${note}`);
      lines.push('');
    }
  }
  if (report.failures.length > 0) {
    lines.push('## Failed', '');
    for (const f of report.failures) lines.push(`- ${f.name} (${f.ranAt}): ${f.error}`);
    lines.push('');
  }
  return lines.join('\n');
}

async function writeAtomically(path: string, content: string): Promise<void> {
  await writeFile(`${path}.partial`, content);
  await rename(`${path}.partial`, path);
}

async function main(): Promise<number> {
  const quick = process.env.BENCH_QUICK === '1';
  const names = await available();
  const asked = process.argv.slice(2).filter((arg) => arg !== '--');
  const unknown = asked.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${names.join(', ')}`);
    return 2;
  }
  const selected = asked.length > 0 ? asked : names;
  const machine = describeMachine();
  const results: RecordedResult[] = [];
  const failures: FailedRun[] = [];

  for (const name of selected) {
    const benchmark = await load(name);
    if (!benchmark) {
      console.info(`[bench] ${name}: no default export, skipped`);
      continue;
    }
    const ranAt = new Date().toISOString();
    const started = performance.now();
    console.info(`[bench] ${name}: running${quick ? ' (quick)' : ''}`);
    try {
      const result = await benchmark({
        quick,
        log: (message) => console.info(`[bench] ${name}: ${message}`),
      });
      const durationSeconds = (performance.now() - started) / 1000;
      results.push({ ...result, ranAt, durationSeconds, quick, machine });
      console.info(
        `[bench] ${name}: ${result.ratio.label} = ${formatNumber(result.ratio.value)}; target ${result.target.met ? 'met' : 'NOT met'} (${result.target.description})`,
      );
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push({ name, ranAt, error: error.split('\n').slice(0, 3).join(' | ') });
      console.error(`[bench] ${name} failed: ${error}`);
    }
  }

  // A partial run keeps the other benchmarks' last results, each with its own date and machine.
  const earlier = await previous();
  const ran = new Set(selected);
  const report: Report = {
    generatedAt: new Date().toISOString(),
    machine,
    results: [...(earlier?.results.filter((r) => !ran.has(r.name)) ?? []), ...results].sort((a, b) =>
      a.name.localeCompare(b.name),
    ),
    failures: [...(earlier?.failures.filter((f) => !ran.has(f.name)) ?? []), ...failures],
  };
  await mkdir(resultsDir, { recursive: true });
  await writeAtomically(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(join(resultsDir, 'latest.md'), renderMarkdown(report));
  console.info(`[bench] wrote bench/results/latest.md and latest.json`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
