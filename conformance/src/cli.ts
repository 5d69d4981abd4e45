#!/usr/bin/env node
/**
 * `stowage-conformance`: certifies an adapter module from a shell, without a test framework, and
 * writes `conformance-report.json` and `conformance-report.md`.
 *
 * ```sh
 * stowage-conformance --module @acme/stowage-ftp --options '{"host":"127.0.0.1"}' --out reports/
 * ```
 *
 * Exit codes: 0 when every case passed (overrides aside), 1 when a case failed, 2 for a usage or
 * setup error (bad arguments, a module without `adapter`, a backend that does not open).
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Store, assertCapabilities, type AdapterDefinition } from '@stowage/core';
import { allCases } from './cases/index.ts';
import { overrideCovers, validateOverrides } from './plan.ts';
import { formatReportMarkdown } from './report.ts';
import { formatSummary, runConformance, type CaseResult } from './runner.ts';
import { GROUP_NAMES, type OtherWriter } from './types.ts';

const USAGE = `Usage: stowage-conformance --module <specifier or path> [options]

Certifies a stowage adapter: imports the module (it must export \`adapter\`), opens a backend,
runs the conformance suite and writes <out>/conformance-report.json and .md.

Options:
  --module <m>          package name or file path of the adapter module (required)
  --options <json>      options for adapter.create(), as JSON
  --options-file <f>    the same, from a JSON file
  --url <url>           a store URL, turned into options by adapter.optionsFromUrl (merged under --options)
  --name <name>         what the report calls the adapter (default: the adapter's name)
  --out <dir>           where to write the reports (default: stowage-report)
  --override <id=why>   a named gap of the server under test (case id or group); repeatable
  --overrides-file <f>  overrides as a JSON object { "caseIdOrGroup": "reason" }
  --only <id|group>     run only these cases or groups; repeatable
  --chunk-size <bytes>  the chunk size to test around (default 1048576)
  --large-size <bytes>  the size of the large streamed body (default 20971520)
  --timeout <ms>        per-case time limit (default 30000)
  --other-writer <m>    a module exporting openOtherWriter(backend, options): the raw writer the
                        other-writers group writes beside stowage with (without it, n/a)
  --no-rooted           skip the second run on a rooted store
  --quiet               print only the summary line
  -h, --help            show this help
`;

/** A usage or setup problem: exit code 2, no stack trace. */
class UsageError extends Error {}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseSize(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || /\.(?:[cm]?[jt]s)$/.test(specifier);
}

/**
 * Imports the adapter module. A bare specifier is resolved from the current directory first (the
 * project being certified, whose dependencies this package may not see), then from here.
 */
async function importModule(specifier: string): Promise<Record<string, unknown>> {
  if (isPath(specifier)) return (await import(pathToFileURL(resolve(specifier)).href)) as Record<string, unknown>;
  let resolved: string | undefined;
  try {
    resolved = createRequire(join(process.cwd(), 'noop.js')).resolve(specifier);
  } catch {
    // Not resolvable with require conditions (an import-only package, say): let import() try.
  }
  try {
    return (await import(resolved === undefined ? specifier : pathToFileURL(resolved).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && resolved === undefined) {
      throw new UsageError(`cannot find the module ${JSON.stringify(specifier)} from ${process.cwd()}`);
    }
    throw error;
  }
}

function findAdapter(module: Record<string, unknown>, specifier: string): AdapterDefinition {
  const candidate = (module.adapter ?? (module.default as Record<string, unknown> | undefined)?.adapter) as AdapterDefinition | undefined;
  if (!candidate || typeof candidate.create !== 'function') {
    throw new UsageError(`${specifier} does not export an adapter definition named 'adapter' (with a create() function)`);
  }
  return candidate;
}

function printResult(result: CaseResult): void {
  if (result.status !== 'failed') return;
  process.stderr.write(`✗ ${result.id} (${result.variant}): ${result.error?.message.split('\n')[0] ?? 'failed'}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      module: { type: 'string' },
      options: { type: 'string' },
      'options-file': { type: 'string' },
      url: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string', default: 'stowage-report' },
      override: { type: 'string', multiple: true },
      'overrides-file': { type: 'string' },
      only: { type: 'string', multiple: true },
      'chunk-size': { type: 'string' },
      'large-size': { type: 'string' },
      timeout: { type: 'string' },
      'no-rooted': { type: 'boolean' },
      'other-writer': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.module) throw new UsageError('--module is required');
  if (values.options !== undefined && values['options-file'] !== undefined) throw new UsageError('give --options or --options-file, not both');

  let options: Record<string, unknown> = {};
  if (values.options !== undefined) options = parseJson(values.options, '--options') as Record<string, unknown>;
  if (values['options-file'] !== undefined) options = parseJson(await readFile(values['options-file'], 'utf8'), values['options-file']) as Record<string, unknown>;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new UsageError('adapter options must be a JSON object');

  const overrides: Record<string, string> = {};
  if (values['overrides-file'] !== undefined) Object.assign(overrides, parseJson(await readFile(values['overrides-file'], 'utf8'), values['overrides-file']));
  for (const entry of values.override ?? []) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new UsageError(`--override needs <id>=<reason>, got ${JSON.stringify(entry)}`);
    overrides[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  try {
    validateOverrides(overrides);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  let cases = allCases;
  if (values.only !== undefined) {
    const unknown = values.only.filter((key) => !(GROUP_NAMES as readonly string[]).includes(key) && !allCases.some((c) => overrideCovers(key, c)));
    if (unknown.length > 0) throw new UsageError(`--only matches no case or group: ${unknown.join(', ')}`);
    cases = allCases.filter((testCase) => values.only!.some((key) => overrideCovers(key, testCase)));
  }

  const adapter = findAdapter(await importModule(values.module), values.module);
  if (values.url !== undefined) {
    if (!adapter.optionsFromUrl) throw new UsageError(`the ${adapter.name} adapter cannot be opened from a URL; use --options`);
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new UsageError(`--url is not a URL: ${JSON.stringify(values.url)}`);
    }
    options = { ...(adapter.optionsFromUrl(url) as Record<string, unknown>), ...options };
  }

  const backend = await adapter.create(options);
  assertCapabilities(backend.capabilities, adapter.name);
  const name = values.name ?? adapter.name;
  let otherWriter: OtherWriter | undefined;
  if (values['other-writer'] !== undefined) {
    const open = (await importModule(values['other-writer'])).openOtherWriter;
    if (typeof open !== 'function') throw new UsageError(`${values['other-writer']} does not export openOtherWriter(backend, options)`);
    otherWriter = (await (open as (backend: unknown, options: Record<string, unknown>) => OtherWriter | Promise<OtherWriter>)(backend, options));
  }
  const report = await runConformance({
    name,
    factory: () => {
      const store = new Store(backend);
      return { store, otherWriter, teardown: () => store.close() };
    },
    overrides,
    cases,
    rooted: !values['no-rooted'],
    chunkSize: parseSize(values['chunk-size'], '--chunk-size'),
    largeSize: parseSize(values['large-size'], '--large-size'),
    timeout: parseSize(values.timeout, '--timeout'),
    onResult: values.quiet ? undefined : printResult,
  });

  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'conformance-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(out, 'conformance-report.md'), formatReportMarkdown(report));
  if (!values.quiet) process.stdout.write(`stowage conformance: ${name} (${report.backend}); reports in ${out}\n`);
  process.stdout.write(`${formatSummary(report.summary)}\n`);
  return report.summary.failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
    process.stderr.write(`stowage-conformance: ${usage ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`);
    if (usage) process.stderr.write('Run stowage-conformance --help for the options.\n');
    process.exitCode = 2;
  },
);
