/**
 * `stowage certify`: runs the conformance suite of `@stowage/conformance` against a store and prints
 * the report; `--out` also writes it as JSON and Markdown. The kit is an optional peer of the
 * command (most users never certify): it is loaded like an adapter, from beside the command or from
 * the working directory's project, and its absence is a configuration error that says what to install.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AbortedError } from '@stowage/core';
import type { ConformanceReport } from '@stowage/conformance';
import type { ModuleLoader } from '@stowage/core';
import { adapterLoader, isMissingModule } from '../adapters.ts';
import { expectPositionals, flag, stringOption, type Command, type Context, type ParsedArgs } from '../command.ts';
import { atLocation, configError, usageError } from '../failures.ts';
import { alignColumns, parseByteSize } from '../format.ts';
import { displayLocation } from '../locations.ts';
import { openStoreOf } from '../objects.ts';
import { stepProgress } from '../progress.ts';

/** What `certify` uses of the conformance kit. */
export type ConformanceKit = typeof import('@stowage/conformance');

const KIT = '@stowage/conformance';

/**
 * Loads the conformance kit with `load` (the command's adapter loader: beside the command, then the
 * working directory's project); a kit that is not installed is a `CONFIG` error naming the package.
 */
export async function loadConformanceKit(cwd: string, load: ModuleLoader = adapterLoader(cwd)): Promise<ConformanceKit> {
  try {
    return (await load(KIT)) as ConformanceKit;
  } catch (error) {
    if (!isMissingModule(error, KIT)) throw error;
    throw configError(
      `stowage certify needs the conformance kit, the package ${KIT}, which is not installed: install it next to the command (\`npm install -g ${KIT}\` for a global stowage) or in this project (\`npm install --save-dev ${KIT}\`)`,
      { cause: error },
    );
  }
}

function sizeOption(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = parseByteSize(text);
  if (value === undefined) throw usageError(`--${name} takes a size such as 1048576, 512KiB or 20MiB, not ${JSON.stringify(text)}`);
  return value;
}

function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

function printReport(context: Context, report: ConformanceReport, summary: string): void {
  context.print(`stowage certify: ${report.name} (backend ${report.backend}) with ${report.suite.name} ${report.suite.version}, ${(report.durationMs / 1000).toFixed(1)} s`);
  context.print('');
  context.print('capabilities:');
  const rows = report.capabilities.map((verdict) => [
    verdict.name,
    verdict.declared === null ? 'null' : String(verdict.declared),
    verdict.verdict,
    verdict.note,
  ]);
  for (const line of alignColumns(rows)) context.print(`  ${line}`);
  const failures = report.cases.filter((result) => result.status === 'failed');
  if (failures.length > 0) {
    context.print('');
    context.print('failures:');
    for (const failure of failures) context.print(`  ${failure.id} (${failure.variant}): ${failure.error?.message.split('\n')[0] ?? 'failed'}`);
  }
  const overrides = Object.entries(report.overrides);
  if (overrides.length > 0) {
    context.print('');
    context.print('not verifiable on this server:');
    for (const [key, reason] of overrides) context.print(`  ${key}: ${reason}`);
  }
  context.print('');
  context.print(summary);
}

/** `stowage certify`. */
export const certifyCommand: Command = {
  name: 'certify',
  summary: 'Run the stowage conformance suite against a store and print the report.',
  usage: ['certify [options] LOCATION'],
  description: [
    'Certifies the store at LOCATION (a configured store, a store URL, or :): every case group its declared capabilities call for, the refusal of what it does not declare, and everything again on a store rooted below a random prefix. Each case works under its own random prefix and deletes what it wrote; a key in LOCATION roots the whole run below it (certify lake:scratch/).',
    'Prints the capabilities declared versus observed, the failures, and a summary line; --out DIR also writes conformance-report.json and conformance-report.md. Exit status 0 when every case passed, 1 when one failed.',
  ],
  options: {
    out: { type: 'string', value: 'DIR', description: 'also write conformance-report.json and conformance-report.md here' },
    json: { type: 'boolean', description: 'print the whole report as JSON instead of the summary' },
    only: { type: 'string', multiple: true, value: 'ID|GROUP', description: 'run only these cases or groups (repeatable)' },
    override: { type: 'string', multiple: true, value: 'ID=REASON', description: 'a named gap of the server under test, reported as not verifiable (repeatable)' },
    'no-rooted': { type: 'boolean', description: 'skip the second run on a rooted store' },
    'chunk-size': { type: 'string', value: 'SIZE', description: 'the chunk size the cases test around (default 1MiB)' },
    'large-size': { type: 'string', value: 'SIZE', description: 'the size of the large streamed body (default 20MiB)' },
    timeout: { type: 'string', value: 'MS', description: 'the time limit of each case (default 30000)' },
  },
  examples: [
    ['certify :', 'certify the embedded SQLite store'],
    ['certify --out reports/ lake:', 'certify a configured store and keep the reports'],
    ["certify --only keys --only listing --override 'conditional=this emulator ignores preconditions' gs://test-bucket", 'some groups, with a named gap'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 1, 1, 'one store LOCATION');
    const text = args.positionals[0]!;
    const location = context.session.parse(text);
    if (location.kind !== 'store') throw usageError('certify runs against a store: give a store location such as :, NAME: or sqlite:./store.db', text);
    const timeoutText = stringOption(args, 'timeout');
    const timeout = timeoutText === undefined ? undefined : Number(timeoutText);
    if (timeout !== undefined && (!Number.isSafeInteger(timeout) || timeout < 1)) throw usageError(`--timeout takes milliseconds, not ${JSON.stringify(timeoutText)}`);
    const overrides: Record<string, string> = {};
    for (const entry of listOption(args, 'override')) {
      const equals = entry.indexOf('=');
      if (equals <= 0 || equals === entry.length - 1) throw usageError(`--override takes ID=REASON, not ${JSON.stringify(entry)}`);
      overrides[entry.slice(0, equals)] = entry.slice(equals + 1);
    }
    const conformance = await loadConformanceKit(context.session.cwd);
    try {
      conformance.validateOverrides(overrides);
    } catch (error) {
      throw usageError((error as Error).message);
    }
    const only = listOption(args, 'only');
    const unknown = only.filter((key) => !conformance.allCases.some((testCase) => conformance.overrideCovers(key, testCase)));
    if (unknown.length > 0) throw usageError(`--only matches no case or group: ${unknown.join(', ')} (the groups are ${conformance.GROUP_NAMES.join(', ')})`);
    const cases = only.length === 0 ? conformance.allCases : conformance.allCases.filter((testCase) => only.some((key) => conformance.overrideCovers(key, testCase)));
    const rooted = !flag(args, 'no-rooted');

    const base = await openStoreOf(context, location, { write: true });
    const store = location.key === '' ? base : base.at(location.key);
    const display = displayLocation(location);
    context.note(`certifying ${display} (test objects are written under random prefixes and deleted again)`);
    const progress = stepProgress({ stream: context.io.stderr, quiet: context.quiet }, cases.length * (rooted ? 2 : 1));
    let report: ConformanceReport;
    try {
      report = await conformance.runConformance({
        name: display,
        factory: () => ({ store }),
        overrides,
        cases,
        rooted,
        chunkSize: sizeOption(args, 'chunk-size'),
        largeSize: sizeOption(args, 'large-size'),
        timeout,
        onResult: (result) => {
          progress.step(`${result.id} (${result.variant})`);
          // Stops the run between cases, so the case in progress still deletes what it wrote.
          if (context.signal.aborted) throw new AbortedError('interrupted: the certification stopped after the case in progress');
        },
      });
    } catch (error) {
      throw atLocation(error, display);
    } finally {
      progress.stop();
    }

    const out = stringOption(args, 'out');
    if (out !== undefined) {
      const directory = resolve(context.session.cwd, out);
      await mkdir(directory, { recursive: true });
      await writeFile(join(directory, 'conformance-report.json'), `${context.session.mask(JSON.stringify(report, null, 2))}\n`);
      await writeFile(join(directory, 'conformance-report.md'), context.session.mask(conformance.formatReportMarkdown(report)));
      context.note(`reports written to ${join(directory, 'conformance-report.json')} and conformance-report.md`);
    }
    if (flag(args, 'json')) context.print(JSON.stringify(report, null, 2));
    else printReport(context, report, conformance.formatSummary(report.summary));
    return report.summary.failed > 0 ? 1 : 0;
  },
};
