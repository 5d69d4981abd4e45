/**
 * Sums the JSON reports of every vitest run of `scripts/run.sh test` and prints one line per run,
 * then, last, the summary line: `N passed, N failed, N skipped`.
 *
 * "failed" is the failed tests of every run plus one for each failed step that no failed test
 * explains (a lint error, a build error, a test file that does not even load, a run that wrote no
 * report): so the line says "0 failed" exactly when the whole run succeeded.
 *
 * Usage: node scripts/test-summary.ts --reports DIR [--failed-step ID]...
 *
 * A vitest step's ID is the name of its report without `.json` (`vitest-node24`).
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** The fields of vitest's JSON reporter output that the summary needs. */
interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

interface RunCounts {
  label: string;
  passed: number;
  failed: number;
  skipped: number;
  /** The report is missing or unreadable. */
  broken: boolean;
}

function readRun(file: string, label: string): RunCounts {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as Partial<VitestReport>;
    const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
    return {
      label,
      passed: count(report.numPassedTests),
      failed: count(report.numFailedTests),
      skipped: count(report.numPendingTests) + count(report.numTodoTests),
      broken: false,
    };
  } catch {
    return { label, passed: 0, failed: 0, skipped: 0, broken: true };
  }
}

const { values } = parseArgs({
  options: {
    reports: { type: 'string', default: 'reports' },
    'failed-step': { type: 'string', multiple: true, default: [] },
  },
});

const reportsDir = values.reports;
let files: string[] = [];
try {
  files = readdirSync(reportsDir)
    .filter((name) => /^vitest-.+\.json$/.test(name))
    .sort();
} catch {
  // no reports directory: every step failed before a test ran
}

const runs = files.map((name) => readRun(join(reportsDir, name), name.replace(/\.json$/, '')));
const failedSteps = values['failed-step'];

let passed = 0;
let failed = 0;
let skipped = 0;
for (const run of runs) {
  passed += run.passed;
  failed += run.failed;
  skipped += run.skipped;
  console.log(`   ${run.label}: ${run.broken ? 'report unreadable' : `${run.passed} passed, ${run.failed} failed, ${run.skipped} skipped`}`);
}

// A failed step counts as one failure unless failed tests in its own report already say so.
for (const step of failedSteps) {
  const run = runs.find((candidate) => candidate.label === step);
  if (run && !run.broken && run.failed > 0) continue;
  failed += 1;
}

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
