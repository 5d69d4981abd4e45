/**
 * The suites, by name, in run order. A suite module exports `suite` (a {@link BenchSuite}) and
 * optionally `childCases` (cases that run in a child process of their own, for peak RSS).
 *
 * @module
 */
import type { BenchSuite } from '../harness.ts';

/** What a suite module exports. */
export interface SuiteModule {
  readonly suite: BenchSuite;
  readonly childCases?: Readonly<Record<string, (params: Record<string, unknown>) => Promise<Record<string, number>>>>;
}

/** Suite names and their modules, imported only when the suite runs. */
const SUITES: Readonly<Record<string, () => Promise<SuiteModule>>> = {
  local: () => import('./local.ts'),
  'sql-blob': () => import('./sql-blob.ts'),
  http: () => import('./http.ts'),
  s3: () => import('./s3.ts'),
  gcs: () => import('./gcs.ts'),
  azure: () => import('./azure.ts'),
  'peers-s3': () => import('./peers-s3.ts'),
  reliability: () => import('./reliability.ts'),
  layers: () => import('./layers.ts'),
};

/** The names of every suite, in run order. */
export const SUITE_NAMES: readonly string[] = Object.keys(SUITES);

/** Imports one suite's module. */
export async function suiteModule(name: string): Promise<SuiteModule> {
  const load = SUITES[name];
  if (!load) throw new Error(`no benchmark suite named ${JSON.stringify(name)} (there are: ${SUITE_NAMES.join(', ')})`);
  return load();
}
