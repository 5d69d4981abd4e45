/**
 * The runner-agnostic runner: runs the cases itself (no test framework) and returns a report of
 * every case and of the capabilities declared versus observed. The `stowage-conformance` command is
 * built on it.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { isStowageError, type Capabilities, type CapabilityName, type Store } from '@stowage/core';
import { allCases } from './cases/index.ts';
import { caseTimeout, openFactory, prepareContext, randomToken, resolveSuiteOptions, withTimeout } from './context.ts';
import { notApplicableReason, overrideMessage, overrideReason, validateOverrides } from './plan.ts';
import type { ConformanceCase, GroupName, OtherWriter, Overrides, ResolvedSuiteOptions, StoreFactory, SuiteOptions } from './types.ts';

/** Options of {@link runConformance}. */
export interface RunConformanceOptions extends SuiteOptions {
  /** What is being certified, for the report (default: the backend's name). */
  name?: string | undefined;
  /** Creates the store under test (and, for the `other-writers` group, another writer beside it); called once. */
  factory: StoreFactory;
  /** Named gaps of the server under test; see {@link Overrides}. */
  overrides?: Overrides | undefined;
  /** The cases to run (default: every case). */
  cases?: readonly ConformanceCase[] | undefined;
  /** Run everything a second time on a store rooted below a random prefix (default true). */
  rooted?: boolean | undefined;
  /** Called after each case, for progress output. */
  onResult?: ((result: CaseResult) => void) | undefined;
}

/** Whether a case ran on the store as the factory made it, or on a store rooted below it. */
export type Variant = 'bare' | 'rooted';

/** How a case ended. `skipped` is an override; `not-applicable` a case for the other side of a capability. */
export type CaseStatus = 'passed' | 'failed' | 'skipped' | 'not-applicable';

/** One case on one variant. */
export interface CaseResult {
  id: string;
  group: GroupName;
  name: string;
  variant: Variant;
  status: CaseStatus;
  /** Why the case was skipped or not applicable. */
  reason?: string | undefined;
  /** Why it failed. */
  error?: { name: string; message: string; code?: string | undefined; stack?: string | undefined } | undefined;
  durationMs: number;
}

/** What the suite observed of one capability. */
export interface CapabilityVerdict {
  name: CapabilityName;
  /** The value the backend declares. */
  declared: Capabilities[CapabilityName];
  /** The value the cases confirmed, `false` for a boolean capability whose cases failed, or `null` when not established. */
  observed: Capabilities[CapabilityName] | null;
  /** `confirmed`: every case for it passed; `contradicted`: one failed; `unverified`: none ran, or some were overridden. */
  verdict: 'confirmed' | 'contradicted' | 'unverified';
  /** A sentence on how it was established. */
  note: string;
  /** The ids of the cases that bear on it. */
  cases: string[];
}

/** Counts over every case result (each variant counts). */
export interface ReportSummary {
  passed: number;
  failed: number;
  skipped: number;
  notApplicable: number;
  total: number;
}

/** The result of a conformance run; serializable as JSON. */
export interface ConformanceReport {
  /** `@stowage/conformance` and its version. */
  suite: { name: string; version: string };
  /** What was certified. */
  name: string;
  /** The backend's own name. */
  backend: string;
  startedAt: string;
  durationMs: number;
  environment: { node: string; platform: string; arch: string };
  options: ResolvedSuiteOptions;
  rooted: boolean;
  overrides: Record<string, string>;
  capabilities: CapabilityVerdict[];
  summary: ReportSummary;
  cases: CaseResult[];
}

const CAPABILITY_NAMES: readonly CapabilityName[] = [
  'rangeRead',
  'conditionalWrite',
  'userMetadata',
  'listDelimiter',
  'copy',
  'move',
  'signedUrl',
  'multipart',
  'hierarchical',
  'maxObjectSize',
  'listOrder',
  'reservedSegments',
  'metadataKeys',
];

/** Capabilities whose absence makes core refuse the operation (the others are emulated or are properties). */
const GATES: ReadonlySet<CapabilityName> = new Set(['rangeRead', 'conditionalWrite', 'userMetadata', 'signedUrl']);

function suiteVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function errorOf(error: unknown): NonNullable<CaseResult['error']> {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, code: isStowageError(error) ? error.code : undefined, stack: error.stack };
  }
  return { name: 'Error', message: `non-error thrown: ${String(error)}` };
}

/** Runs one case on `base` and reports how it ended; never throws. */
async function runCase(
  testCase: ConformanceCase,
  base: Store,
  variant: Variant,
  options: ResolvedSuiteOptions,
  overrides: Overrides | undefined,
  fixture: { otherWriter?: OtherWriter | undefined },
): Promise<CaseResult> {
  const result = { id: testCase.id, group: testCase.group, name: testCase.name, variant };
  // Applicability first: an override cannot make a case that does not apply count as a gap.
  const notApplicable = notApplicableReason(testCase, base.capabilities, fixture);
  if (notApplicable !== undefined) return { ...result, status: 'not-applicable', reason: notApplicable, durationMs: 0 };
  const reason = overrideReason(testCase, overrides);
  if (reason !== undefined) return { ...result, status: 'skipped', reason: overrideMessage(reason), durationMs: 0 };
  const started = performance.now();
  const prepared = prepareContext(base, options, fixture);
  try {
    await withTimeout(testCase.run(prepared.context), caseTimeout(testCase, options), testCase.id);
    return { ...result, status: 'passed', durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ...result, status: 'failed', error: errorOf(error), durationMs: Math.round(performance.now() - started) };
  } finally {
    await prepared.cleanup();
  }
}

/** What the results say about each capability. */
export function judgeCapabilities(capabilities: Capabilities, cases: readonly ConformanceCase[], results: readonly CaseResult[]): CapabilityVerdict[] {
  const byId = new Map(cases.map((testCase) => [testCase.id, testCase]));
  return CAPABILITY_NAMES.map((name) => {
    const declared = capabilities[name];
    const relevant = results.filter((result) => byId.get(result.id)?.capability === name && result.status !== 'not-applicable');
    const ids = [...new Set(relevant.map((result) => result.id))];
    const failed = [...new Set(relevant.filter((result) => result.status === 'failed').map((result) => result.id))];
    const skipped = relevant.filter((result) => result.status === 'skipped').length;
    const base = { name, declared, cases: ids };
    if (failed.length > 0) {
      return { ...base, observed: declared === true ? false : null, verdict: 'contradicted', note: `failed: ${failed.join(', ')}` };
    }
    if (relevant.length === 0) {
      const note =
        name === 'maxObjectSize' && declared === null
          ? 'no limit declared'
          : allCases.some((testCase) => testCase.capability === name)
            ? 'none of its cases ran'
            : 'no case observes it';
      return { ...base, observed: null, verdict: 'unverified', note };
    }
    if (skipped > 0) return { ...base, observed: null, verdict: 'unverified', note: `${skipped} of ${relevant.length} case runs not verifiable on this server` };
    const emulated = declared === 'emulated' || (name === 'listDelimiter' && declared === false);
    const note =
      declared === false && GATES.has(name)
        ? 'refused with CAPABILITY_NOT_SUPPORTED before any I/O, as declared'
        : emulated
          ? 'emulated by core over the backend; the cases pass'
          : 'every case passes';
    return { ...base, observed: declared, verdict: 'confirmed', note };
  });
}

/**
 * Runs the conformance suite without a test framework and returns the report. The store is created
 * once; every case works under its own random prefix below it and deletes what it wrote. Unless
 * `rooted` is false, everything runs a second time on a store rooted at `rooted-<random>/`.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { runConformance, formatReportMarkdown } from '@stowage/conformance'
 * const report = await runConformance({ name: 'my-adapter', factory: () => new Store(new MyBackend()) })
 * console.log(formatReportMarkdown(report))
 * ```
 */
export async function runConformance(options: RunConformanceOptions): Promise<ConformanceReport> {
  validateOverrides(options.overrides);
  const suite = resolveSuiteOptions(options);
  const cases = options.cases ?? allCases;
  const rooted = options.rooted !== false;
  const startedAt = new Date();
  const started = performance.now();
  const { store, teardown, otherWriter } = await openFactory(options.factory);
  const results: CaseResult[] = [];
  try {
    const variants: [Variant, Store][] = [['bare', store]];
    if (rooted) variants.push(['rooted', store.at(`rooted-${randomToken()}/`)]);
    for (const [variant, base] of variants) {
      for (const testCase of cases) {
        const result = await runCase(testCase, base, variant, suite, options.overrides, { otherWriter });
        results.push(result);
        options.onResult?.(result);
      }
    }
  } finally {
    await teardown();
  }
  const count = (status: CaseStatus) => results.filter((result) => result.status === status).length;
  return {
    suite: { name: '@stowage/conformance', version: suiteVersion() },
    name: options.name ?? store.backendName,
    backend: store.backendName,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    environment: { node: process.version, platform: process.platform, arch: process.arch },
    options: suite,
    rooted,
    overrides: { ...options.overrides },
    capabilities: judgeCapabilities(store.capabilities, cases, results),
    summary: { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), notApplicable: count('not-applicable'), total: results.length },
    cases: results,
  };
}

/** The one-line summary the command prints: `N passed, N failed, N skipped`, plus the cases that do not apply. */
export function formatSummary(summary: ReportSummary): string {
  return `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped${summary.notApplicable > 0 ? ` (${summary.notApplicable} not applicable to the declared capabilities)` : ''}`;
}
