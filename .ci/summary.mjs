// Prints "N passed, N failed" from vitest's JSON report (vitest's own summary line is not what CI reads).
// Exits non-zero when a test failed or the report is missing/unreadable.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.ci/results.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`ci: no readable vitest JSON report at ${file}: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let passed = 0;
let failed = 0;
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
  }
  // A file that failed to load (syntax error, failing hook) has no assertion results: count it as a failure.
  if (suite.status === 'failed' && !(suite.assertionResults ?? []).some((t) => t.status === 'failed')) failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
