/**
 * `pnpm bench`: runs the benchmark suites and writes a Markdown and a JSON report.
 *
 *   pnpm bench                     the full run: the recorded figures (results/full.md, results/full.json)
 *   pnpm bench --quick             small sizes, a few seconds per case: checks that every case runs
 *   pnpm bench --only sql-blob     only the named suites (comma-separated)
 *   pnpm bench --out DIR           where the report goes
 *
 * A suite whose server is unreachable is reported as not run, except when STOWAGE_TEST_REQUIRE_SERVERS
 * is set (CI), where it fails the run, as does any case that fails unexpectedly.
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runProfile, type Measurement, type SuiteContext, type Table } from './harness.ts';
import { machineInfo } from './machine.ts';
import { formatMarkdown, type RunReport, type SuiteReport } from './report.ts';
import { SUITE_NAMES, suiteModule } from './suites/index.ts';

const RESULTS_START = '<!-- results:start -->';
const RESULTS_END = '<!-- results:end -->';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: pnpm bench [--quick] [--only ${SUITE_NAMES.join(',')}] [--out DIR]\n`);
  process.exit(0);
}

const profile = runProfile(values.quick);
const names = values.only ? values.only.split(',').map((name) => name.trim()).filter(Boolean) : SUITE_NAMES;
const required = (process.env.STOWAGE_TEST_REQUIRE_SERVERS ?? '') !== '';
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const suites: SuiteReport[] = [];
let failures = 0;
for (const name of names) {
  const { suite } = await suiteModule(name);
  const started = performance.now();
  const unavailable = await suite.unavailable?.();
  if (unavailable !== undefined) {
    log(`${name}: not run: ${unavailable}`);
    if (required) failures++;
    suites.push({ name, description: suite.description, skipped: unavailable, notes: [], tables: [], measurements: [], seconds: 0 });
    continue;
  }
  log(`${name}: ${suite.description}`);
  const tables: Table[] = [];
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  const context: SuiteContext = {
    profile,
    table(title, columns) {
      const table: Table = { title, columns, rows: [], notes: [] };
      tables.push(table);
      return table;
    },
    record: (measurement) => measurements.push({ suite: name, ...measurement }),
    log: (line) => log(`${name}: ${line}`),
    note: (text) => notes.push(text),
  };
  let failed: string | undefined;
  try {
    await suite.run(context);
  } catch (error) {
    failed = (error as Error).stack ?? String(error);
    failures++;
    log(`${name}: FAILED: ${failed}`);
  }
  suites.push({ name, description: suite.description, failed, notes, tables, measurements, seconds: (performance.now() - started) / 1000 });
}

const report: RunReport = { machine: machineInfo(), mode: profile.quick ? 'quick' : 'full', suites };
const root = fileURLToPath(new URL('../../../', import.meta.url));
const out = resolve(values.out ?? (profile.quick ? join(root, 'reports', 'bench') : fileURLToPath(new URL('../results/', import.meta.url))));
mkdirSync(out, { recursive: true });
// A run of some suites only gets a name of its own, so that it never overwrites the whole run's record.
const base = join(out, `${profile.quick ? 'quick' : 'full'}${values.only ? `-${names.join('+')}` : ''}`);
const markdown = formatMarkdown(report);
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
log(`report: ${base}.md and ${base}.json${failures > 0 ? ` (${failures} suite(s) failed or did not run)` : ''}`);
// A complete full run (every suite, none failed) is the recorded one: BENCHMARKS.md shows it.
if (!profile.quick && !values.only && !values.out && failures === 0) {
  const file = join(root, 'BENCHMARKS.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(RESULTS_START);
  const end = text.indexOf(RESULTS_END);
  if (start === -1 || end < start) throw new Error(`${file} has no ${RESULTS_START} … ${RESULTS_END} section to write the results into`);
  // One level down, under BENCHMARKS.md's own "Results" heading: suites become ###, tables ####.
  const body = markdown.replace(/^# .*\n/, '').replace(/^### /gm, '#### ').replace(/^## /gm, '### ');
  writeFileSync(file, `${text.slice(0, start + RESULTS_START.length)}\n<!-- written by pnpm bench (a full run of every suite): do not edit -->\n${body}\n${text.slice(end)}`);
  log(`BENCHMARKS.md: results section rewritten`);
}
process.exit(failures > 0 ? 1 : 0);
