/**
 * `@stowage/conformance/vitest`: the suite as vitest `describe` blocks, for an adapter's own tests.
 *
 * @example
 * ```ts
 * // test/conformance.test.ts
 * import { Store } from '@stowage/core'
 * import { describeConformance } from '@stowage/conformance/vitest'
 * import { MyBackend } from '../src/index.ts'
 *
 * describeConformance({ name: 'my-adapter', factory: () => new Store(new MyBackend()) })
 * ```
 *
 * @module
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Store } from '@stowage/core';
import {
  allCases,
  atomicityCases,
  bodiesCases,
  conditionalCases,
  copyMoveCases,
  deleteCases,
  healthCases,
  hierarchyCases,
  keysCases,
  listingCases,
  metadataCases,
  otherWritersCases,
  rangeCases,
  signedUrlCases,
  sweepCases,
} from './cases/index.ts';
import { caseTimeout, openFactory, prepareContext, randomToken, resolveSuiteOptions } from './context.ts';
import { notApplicableReason, overrideMessage, overrideReason, validateOverrides } from './plan.ts';
import type { ConformanceCase, OtherWriter, Overrides, ResolvedSuiteOptions, StoreFactory, SuiteOptions } from './types.ts';

/** Options of {@link describeConformance} and the per-group functions. */
export interface DescribeConformanceOptions extends SuiteOptions {
  /** Names the `describe` block, such as `'local'` or `'s3 (MinIO)'`. */
  name: string;
  /** Creates the store under test, once per `describe` block (in `beforeAll`); may return `{ store, teardown }`. */
  factory: StoreFactory;
  /**
   * Named gaps of the server under test: `{ caseIdOrGroup: reason }`. Matching cases are registered
   * as skipped tests whose name says "not verifiable on this server: <reason>".
   */
  overrides?: Overrides | undefined;
  /** Also run everything on a store rooted at `rooted-<random>/` below the factory's (default true). */
  rooted?: boolean | undefined;
}

/** Registers one test per case, grouped by case group, against the store `getStore` returns at run time. */
function registerCases(getStore: () => Store, getWriter: () => OtherWriter | undefined, cases: readonly ConformanceCase[], overrides: Overrides | undefined, options: ResolvedSuiteOptions): void {
  const groups = new Map<string, ConformanceCase[]>();
  for (const testCase of cases) groups.set(testCase.group, [...(groups.get(testCase.group) ?? []), testCase]);
  for (const [group, groupCases] of groups) {
    describe(group, () => {
      for (const testCase of groupCases) {
        const title = `[${testCase.id}] ${testCase.name}`;
        const reason = overrideReason(testCase, overrides);
        if (reason !== undefined) {
          it.skip(`${title} (${overrideMessage(reason)})`, () => {});
          continue;
        }
        it(
          title,
          async (context) => {
            const store = getStore();
            // Capabilities are known only once the factory has run, so applicability is decided here.
            const fixture = { otherWriter: getWriter() };
            const notApplicable = notApplicableReason(testCase, store.capabilities, fixture);
            if (notApplicable !== undefined) context.skip(`not applicable: ${notApplicable}`);
            const prepared = prepareContext(store, options, fixture);
            try {
              await testCase.run(prepared.context);
            } finally {
              await prepared.cleanup();
            }
          },
          caseTimeout(testCase, options),
        );
      }
    });
  }
}

function describeCases(title: string, options: DescribeConformanceOptions, cases: readonly ConformanceCase[]): void {
  validateOverrides(options.overrides);
  const suite = resolveSuiteOptions(options);
  describe(`${title}: ${options.name}`, () => {
    let opened: Awaited<ReturnType<typeof openFactory>> | undefined;
    let rooted: Store | undefined;
    const store = (): Store => {
      if (!opened) throw new Error('the conformance factory did not produce a store (see the beforeAll failure)');
      return opened.store;
    };
    beforeAll(async () => {
      opened = await openFactory(options.factory);
    }, suite.timeout);
    afterAll(async () => {
      await opened?.teardown();
    }, suite.timeout);
    const writer = (): OtherWriter | undefined => opened?.otherWriter;
    registerCases(store, writer, cases, options.overrides, suite);
    if (options.rooted !== false) {
      describe('rooted store', () => {
        registerCases(() => (rooted ??= store().at(`rooted-${randomToken()}/`)), writer, cases, options.overrides, suite);
      });
    }
  });
}

/**
 * Registers the whole conformance suite as a vitest `describe` block: every group, on the factory's
 * store and again on a rooted store (unless `rooted: false`). Cases for capabilities the backend
 * does not declare are skipped as not applicable; the refusal checks run instead.
 */
export function describeConformance(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance', options, allCases);
}

/** Registers the `health` group: the backend answers and declares a valid capability object. */
export function describeHealth(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (health)', options, healthCases);
}

/** Registers the `keys` group: valid keys round-trip and list in order; invalid keys are refused. */
export function describeKeys(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (keys)', options, keysCases);
}

/** Registers the `bodies` group: every body type at the sizes where chunking goes wrong, and a large stream. */
export function describeBodies(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (bodies)', options, bodiesCases);
}

/** Registers the `range` group (capability `rangeRead`). */
export function describeRange(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (range)', options, rangeCases);
}

/** Registers the `metadata` group: content types, user metadata, `stat` fields. */
export function describeMetadata(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (metadata)', options, metadataCases);
}

/** Registers the `listing` group: prefixes, delimiter, pages, cursors, glob and folders. */
export function describeListing(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (listing)', options, listingCases);
}

/** Registers the `delete` group: idempotent single and batch deletes. */
export function describeDelete(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (delete)', options, deleteCases);
}

/** Registers the `copy-move` group (capabilities `copy` and `move`). */
export function describeCopyMove(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (copy-move)', options, copyMoveCases);
}

/** Registers the `conditional` group (capability `conditionalWrite`). */
export function describeConditional(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (conditional)', options, conditionalCases);
}

/** Registers the `atomicity` group: aborted, failing and oversized writes leave the old object intact. */
export function describeAtomicity(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (atomicity)', options, atomicityCases);
}

/** Registers the `hierarchy` group (capability `hierarchical`). */
export function describeHierarchy(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (hierarchy)', options, hierarchyCases);
}

/** Registers the `signed-url` group (capability `signedUrl`). */
export function describeSignedUrl(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (signed-url)', options, signedUrlCases);
}

/** Registers the `sweep` group: the maintenance sweep reports consistently and never touches objects. */
export function describeSweep(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (sweep)', options, sweepCases);
}

/**
 * Registers the `other-writers` group: another program (the factory's `otherWriter`: plain SQL, the
 * bare SDK, the filesystem) overwrites, deletes, re-creates and copies keys beside stowage, also
 * concurrently. Without an `otherWriter` its cases are skipped as not applicable.
 *
 * @example
 * ```ts
 * describeOtherWriters({ name: 'my-adapter', factory: async () => ({ store, otherWriter: myRawWriter }) })
 * ```
 */
export function describeOtherWriters(options: DescribeConformanceOptions): void {
  describeCases('stowage conformance (other-writers)', options, otherWritersCases);
}
