/**
 * `@stowage/conformance`: the one suite that proves a backend keeps the stowage contract.
 *
 * This entry is runner-agnostic: the cases as data ({@link allCases}, one array per group), and
 * {@link runConformance}, which runs them without a test framework and returns a report of every
 * case and of the capabilities declared versus observed. For vitest, import
 * `@stowage/conformance/vitest`; from a shell, run `stowage-conformance`.
 *
 * @module
 */
export {
  allCases,
  atomicityCases,
  bodiesCases,
  caseGroups,
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
export { DEFAULT_CHUNK_SIZE, DEFAULT_LARGE_SIZE, DEFAULT_TIMEOUT, prepareContext, resolveSuiteOptions, type PreparedContext } from './context.ts';
export { notApplicableReason, overrideCovers, overrideReason, validateOverrides } from './plan.ts';
export { filesystemOtherWriter, type FilesystemOtherWriterOptions } from './filesystem-other-writer.ts';
export { layeredStore, type LayerStack } from './layers.ts';
export { formatReportMarkdown } from './report.ts';
export {
  formatSummary,
  judgeCapabilities,
  runConformance,
  type CapabilityVerdict,
  type CaseResult,
  type CaseStatus,
  type ConformanceReport,
  type ReportSummary,
  type RunConformanceOptions,
  type Variant,
} from './runner.ts';
export {
  GROUP_NAMES,
  type CaseContext,
  type CaseRequirement,
  type ConformanceCase,
  type FixtureRequirement,
  type GroupName,
  type OtherWriter,
  type Overrides,
  type ResolvedSuiteOptions,
  type StoreFactory,
  type StoreFactoryResult,
  type SuiteOptions,
} from './types.ts';
