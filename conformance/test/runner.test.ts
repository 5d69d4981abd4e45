/**
 * The runner-agnostic runner and its report: the reference adapter passes, a minimal backend passes
 * through core's refusals and emulations, and deliberately broken backends FAIL the cases for
 * their bug (the suite can fail).
 */
import { describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import {
  allCases,
  caseGroups,
  conditionalCases,
  formatReportMarkdown,
  keysCases,
  listingCases,
  runConformance,
  type CaseResult,
  type ConformanceReport,
} from '../src/index.ts';
import { atomicityCases } from '../src/index.ts';
import { CreateOnlyIgnoringBackend, DeleteFirstBackend, MinimalBackend, Utf16SortingBackend } from './fixtures/backends.ts';

/** Small sizes keep these runs quick; the memory package runs the suite at full size. */
const SMALL = { chunkSize: 64 * 1024, largeSize: 1024 * 1024 } as const;

function failedIds(report: ConformanceReport): string[] {
  return [...new Set(report.cases.filter((result) => result.status === 'failed').map((result) => result.id))].sort();
}

function verdictOf(report: ConformanceReport, name: string) {
  return report.capabilities.find((verdict) => verdict.name === name)!;
}

describe('the case list', () => {
  it('has unique ids of the form <group>/<name>, each in its group', () => {
    const ids = allCases.map((testCase) => testCase.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const testCase of allCases) {
      expect(testCase.id.startsWith(`${testCase.group}/`)).toBe(true);
      expect(caseGroups[testCase.group]).toContain(testCase);
      expect(testCase.name.length).toBeGreaterThan(10);
    }
  });

  it('pairs every capability gate with a refusal case for where it is not declared', () => {
    for (const capability of ['rangeRead', 'conditionalWrite', 'userMetadata', 'signedUrl']) {
      expect(allCases.some((testCase) => testCase.capability === capability && testCase.requires === 'undeclared')).toBe(true);
      expect(allCases.some((testCase) => testCase.capability === capability && testCase.requires !== 'undeclared')).toBe(true);
    }
  });
});

// Whole-suite runs: longer than vitest's default 5 s on a busy machine.
describe('runConformance', { timeout: 120_000 }, () => {
  it('passes the memory adapter on every case, bare and rooted, and confirms its capabilities', async () => {
    const results: CaseResult[] = [];
    const report = await runConformance({ name: 'memory', factory: () => new Store(new MemoryBackend()), ...SMALL, onResult: (r) => results.push(r) });
    expect(failedIds(report)).toEqual([]);
    expect(report.summary.total).toBe(allCases.length * 2);
    expect(report.summary.passed + report.summary.notApplicable).toBe(report.summary.total);
    expect(results).toHaveLength(report.summary.total);
    expect(new Set(report.cases.map((result) => result.variant))).toEqual(new Set(['bare', 'rooted']));
    expect(report.backend).toBe('memory');
    expect(report.options).toMatchObject(SMALL);
    for (const name of ['rangeRead', 'conditionalWrite', 'userMetadata', 'listDelimiter', 'copy', 'move', 'hierarchical', 'listOrder']) {
      expect(verdictOf(report, name), name).toMatchObject({ verdict: 'confirmed' });
    }
    expect(verdictOf(report, 'signedUrl')).toMatchObject({ declared: false, observed: false, verdict: 'confirmed' });
    expect(verdictOf(report, 'multipart')).toMatchObject({ verdict: 'unverified', observed: null });
    expect(JSON.parse(JSON.stringify(report))).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('passes a minimal backend through core refusals and emulations, and confirms the refusals', async () => {
    const report = await runConformance({ name: 'minimal', factory: () => new Store(new MinimalBackend()), ...SMALL, rooted: false });
    expect(failedIds(report)).toEqual([]);
    for (const name of ['rangeRead', 'conditionalWrite', 'userMetadata', 'signedUrl']) {
      expect(verdictOf(report, name), name).toMatchObject({ declared: false, observed: false, verdict: 'confirmed' });
      expect(verdictOf(report, name).note).toContain('CAPABILITY_NOT_SUPPORTED');
    }
    expect(verdictOf(report, 'listDelimiter').note).toContain('emulated');
    expect(verdictOf(report, 'maxObjectSize')).toMatchObject({ declared: 64 * 1024 * 1024, verdict: 'confirmed' });
    const refusal = report.cases.find((result) => result.id === 'range/refused')!;
    expect(refusal.status).toBe('passed');
    expect(report.cases.find((result) => result.id === 'range/suffix')).toMatchObject({ status: 'not-applicable', reason: 'the backend does not declare rangeRead' });
  });

  it('fails the create-only cases of a backend that ignores ifNoneMatch', async () => {
    const report = await runConformance({
      factory: () => new Store(new CreateOnlyIgnoringBackend()),
      cases: [...conditionalCases, ...caseGroups['copy-move']],
      ...SMALL,
    });
    expect(failedIds(report)).toEqual([
      'conditional/concurrent-create-only',
      'conditional/create-only-existing',
      'copy-move/create-only-copy',
      'copy-move/create-only-move',
    ]);
    expect(verdictOf(report, 'conditionalWrite')).toMatchObject({ declared: true, observed: false, verdict: 'contradicted' });
    expect(report.name).toBe('create-only-ignoring');
    const failure = report.cases.find((result) => result.id === 'conditional/create-only-existing')!;
    expect(failure.error?.message).toContain('expected a ALREADY_EXISTS error, but it succeeded');
  });

  it('fails the ordering cases of a backend that lists in UTF-16 order while declaring UTF-8', async () => {
    const report = await runConformance({ factory: () => new Store(new Utf16SortingBackend()), cases: [...keysCases, ...listingCases], ...SMALL, rooted: false });
    expect(failedIds(report)).toEqual(['keys/list-order']);
    expect(verdictOf(report, 'listOrder')).toMatchObject({ declared: 'utf8', observed: null, verdict: 'contradicted' });
  });

  it('fails the atomicity cases of a backend that deletes the old object before writing', async () => {
    const report = await runConformance({ factory: () => new Store(new DeleteFirstBackend()), cases: atomicityCases, ...SMALL, rooted: false });
    expect(failedIds(report)).toEqual(
      expect.arrayContaining(['atomicity/abort-overwrite', 'atomicity/source-error/async-iterable', 'atomicity/too-large-streaming', 'atomicity/size-mismatch']),
    );
  });

  it('reports a case that throws something other than an assertion, and one that times out', async () => {
    const report = await runConformance({
      factory: () => new Store(new MemoryBackend()),
      rooted: false,
      timeout: 200,
      cases: [
        { id: 'health/throws', group: 'health', name: 'throws a plain error', run: async () => Promise.reject(new TypeError('boom')) },
        { id: 'health/hangs', group: 'health', name: 'never settles', run: () => new Promise(() => {}) },
      ],
    });
    expect(report.cases.map((result) => [result.id, result.status, result.error?.name, result.error?.message])).toEqual([
      ['health/throws', 'failed', 'TypeError', 'boom'],
      ['health/hangs', 'failed', 'Error', 'health/hangs did not finish within 200 ms'],
    ]);
  });

  it('calls the teardown also when cases fail, and accepts { store, teardown } from the factory', async () => {
    let tornDown = 0;
    const report = await runConformance({
      factory: async () => ({ store: new Store(new CreateOnlyIgnoringBackend()), teardown: () => void tornDown++ }),
      cases: conditionalCases,
      ...SMALL,
      rooted: false,
    });
    expect(report.summary.failed).toBeGreaterThan(0);
    expect(tornDown).toBe(1);
  });

  it('deletes what each case wrote', async () => {
    const backend = new MemoryBackend();
    await runConformance({ factory: () => new Store(backend), cases: listingCases, ...SMALL });
    expect([...backend.unwrap().keys()]).toEqual([]);
  });
});

describe('formatReportMarkdown', { timeout: 60_000 }, () => {
  it('renders the summary, the capability table, failures with messages, and every case', async () => {
    const report = await runConformance({ name: 'broken', factory: () => new Store(new CreateOnlyIgnoringBackend()), cases: conditionalCases, ...SMALL });
    const markdown = formatReportMarkdown(report);
    expect(markdown).toContain('# stowage conformance: broken');
    expect(markdown).toMatch(/\*\*FAILED: \d+ passed, 4 failed, 0 skipped/);
    expect(markdown).toContain('| conditionalWrite | true | false | contradicted |');
    expect(markdown).toContain('### `conditional/create-only-existing` (bare)');
    expect(markdown).toContain('### `conditional/create-only-existing` (rooted)');
    expect(markdown).toContain('| `conditional/if-match-current` |');
    expect(markdown).toContain('| Case | What it proves | bare | rooted |');
  });
});
