import { defineConfig } from 'vitest/config';

// One vitest run for the whole repository: each package is a project, and tests import workspace
// packages through the `@stowage/source` export condition, so they run on `src` without a build.
const sourceConditions = { resolve: { conditions: ['@stowage/source'] }, ssr: { resolve: { conditions: ['@stowage/source'] } } };

export default defineConfig({
  // Global setup files run in the main process, in vitest's own environment: it needs the
  // condition too, and workspace packages inlined so that Node's resolver (which lacks it) is not asked.
  environments: { __vitest__: { resolve: { conditions: ['@stowage/source', 'node', 'import', 'module', 'default'], noExternal: [/^@stowage\//] } } },
  test: {
    // Two cores here: keep file-level parallelism modest so timing-sensitive races stay meaningful.
    maxWorkers: 2,
    projects: [
      { ...sourceConditions, test: { name: 'core', root: 'packages/core', include: ['test/**/*.test.ts'], typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'tsconfig.json' } } },
      { ...sourceConditions, test: { name: 'memory', root: 'packages/memory', include: ['test/**/*.test.ts'] } },
      { ...sourceConditions, test: { name: 'local', root: 'packages/local', include: ['test/**/*.test.ts'] } },
      { ...sourceConditions, test: { name: 'sql-blob', root: 'packages/sql-blob', include: ['test/**/*.test.ts'] } },
      { ...sourceConditions, test: { name: 'azure', root: 'packages/azure', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] } },
      { ...sourceConditions, test: { name: 'attachments', root: 'packages/attachments', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'], testTimeout: 30_000 } },
      { ...sourceConditions, test: { name: 's3', root: 'packages/s3', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] } },
      // METADATA_SERVER_DETECTION=none: the Google auth library must never probe the metadata server's address.
      { ...sourceConditions, test: { name: 'gcs', root: 'packages/gcs', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'], env: { METADATA_SERVER_DETECTION: 'none' } } },
      { ...sourceConditions, test: { name: 'conformance', root: 'conformance', include: ['test/**/*.test.ts'] } },
      { ...sourceConditions, test: { name: 'opentelemetry', root: 'packages/opentelemetry', include: ['test/**/*.test.ts'] } },
      { ...sourceConditions, test: { name: 'http', root: 'packages/http', include: ['test/**/*.test.ts'] } },
      { ...sourceConditions, test: { name: 'benchmarks', root: 'packages/benchmarks', include: ['test/**/*.test.ts'] } },
      // End-to-end: runs the built `stowage` binary (its globalSetup builds it through turbo first).
      { ...sourceConditions, test: { name: 'cli', root: 'packages/cli', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      // The release and packaging scripts (scripts/*.ts): the release policy under the real changesets.
      { test: { name: 'scripts', root: 'scripts', include: ['test/**/*.test.ts'], testTimeout: 60_000 } },
    ],
  },
});
