// Prints one closing line over the pytest (JUnit XML) and vitest (JSON) reports, e.g. "tests: 42 passed, 0 failed, 1 skipped".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) continue;
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.xml')) {
    // pytest's JUnit XML: the first <testsuite> carries the totals.
    const attr = (name) => Number(new RegExp(`<testsuite[^>]* ${name}="(\\d+)"`).exec(text)?.[1] ?? 0);
    const bad = attr('failures') + attr('errors');
    failed += bad;
    skipped += attr('skipped');
    passed += attr('tests') - bad - attr('skipped');
    continue;
  }
  const report = JSON.parse(text);
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  // A file that fails outside any test (an error in beforeAll, say) fails no test and skips the rest:
  // count it as a failure, or the line would read "0 failed" for a red run.
  failed += (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && !file.assertionResults?.some((t) => t.status === 'failed'),
  ).length;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
