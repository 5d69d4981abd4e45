/**
 * Builds, tests and certifies every third-party example under examples/ (a folder with its own
 * package.json) as its author would, outside the workspace: a temporary copy installs its
 * dependencies with npm, `@stowage/*` from the packed tarballs of the next release (they are not on
 * the registry yet; the example's package.json names them by version range, as a published
 * adapter does, and npm must find those ranges satisfied by the tarballs), everything else from
 * the npm registry. Then `npm run build`, `publint --strict` and `attw --pack` (as for every stowage
 * package), `npm test` and `npm run certify -- --out DIR`, each script when the example has it; the
 * certification reports are kept in REPORTS/conformance-<example>/.
 *
 *   node scripts/certify-examples.ts [--tarballs DIR] [--reports DIR]
 *
 * Without `--tarballs` the release dry run packs them first (scripts/release-dry-run.ts).
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { satisfiesCaret } from './release-checks.ts';
import { ROOT, type PackageManifest, type TarballIndex } from './workspace.ts';

const { values } = parseArgs({ options: { tarballs: { type: 'string' }, reports: { type: 'string', default: join(ROOT, 'reports') } } });
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stowage', 'npm');

function run(command: string, args: readonly string[], cwd: string): boolean {
  console.log(`    $ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', env: process.env });
  return result.status === 0;
}

/** Every `@stowage/*` package an example declares, with its range. */
function stowageRanges(manifest: PackageManifest): Map<string, string> {
  const ranges = new Map<string, string>();
  for (const group of [manifest.dependencies, manifest.peerDependencies, manifest.devDependencies]) {
    for (const [name, range] of Object.entries(group ?? {})) if (name.startsWith('@stowage/')) ranges.set(name, range);
  }
  return ranges;
}

function certify(example: string, directory: string, index: TarballIndex): string[] {
  const started = performance.now();
  const manifest = JSON.parse(readFileSync(join(ROOT, 'examples', example, 'package.json'), 'utf8')) as PackageManifest;
  console.log(`==> examples/${example} (${manifest.name})`);
  const problems: string[] = [];
  const tarballs: string[] = [];
  for (const [name, range] of stowageRanges(manifest)) {
    const tarball = index.tarballs.find((candidate) => candidate.name === name);
    if (!tarball) {
      problems.push(`${example}: depends on ${name}, which has no tarball`);
      continue;
    }
    const base = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1];
    if (base !== undefined && !satisfiesCaret(tarball.version, base)) {
      problems.push(`${example}: declares ${name} ${range}, but the next release is ${tarball.version}: update the example to the new version (and its code to the new API)`);
    }
    tarballs.push(join(directory, tarball.file));
  }
  if (problems.length > 0) return problems;

  const project = mkdtempSync(join(tmpdir(), `stowage-example-${example}-`));
  try {
    cpSync(join(ROOT, 'examples', example), project, { recursive: true, filter: (source) => !/\/(?:node_modules|dist|stowage-report)$/.test(source) });
    // npm must take @stowage/* from the tarballs; asking a registry for them fails instead of
    // installing whatever someone else may have published under that name.
    writeFileSync(join(project, '.npmrc'), '@stowage:registry=http://127.0.0.1:9/\n');
    const npm = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `--cache=${CACHE}`, '--fetch-timeout=60000'];
    if (!run('npm', ['install', '--no-save', ...npm, ...tarballs], project)) return [`${example}: npm install failed`];
    const scripts = manifest.scripts ?? {};
    if (scripts.build !== undefined && !run('npm', ['run', 'build'], project)) problems.push(`${example}: npm run build failed`);
    // The package checks every stowage package passes, with the repository's own copies of the tools.
    if (problems.length === 0 && !run(join(ROOT, 'node_modules', '.bin', 'publint'), ['--strict'], project)) problems.push(`${example}: publint --strict failed`);
    if (problems.length === 0 && !run(join(ROOT, 'node_modules', '.bin', 'attw'), ['--pack', '--profile', 'esm-only'], project)) problems.push(`${example}: attw --pack failed`);
    if (problems.length === 0 && scripts.test !== undefined && !run('npm', ['test'], project)) problems.push(`${example}: npm test failed`);
    if (problems.length === 0 && scripts.certify !== undefined) {
      const out = join(resolve(values.reports), `conformance-${example}`);
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      if (!run('npm', ['run', 'certify', '--', '--out', out], project)) problems.push(`${example}: npm run certify failed`);
      else if (!existsSync(join(out, 'conformance-report.json'))) problems.push(`${example}: the certification wrote no report (was its server skipped?)`);
      else console.log(`    report: ${join(out, 'conformance-report.md')}`);
    }
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
  console.log(`    (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return problems;
}

function main(): number {
  const examples = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, 'examples', entry.name, 'package.json')))
    .map((entry) => entry.name)
    .sort();
  if (examples.length === 0) {
    console.log('no examples with a package.json under examples/');
    return 0;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'stowage-example-tarballs-'));
  try {
    let directory = values.tarballs === undefined ? undefined : resolve(values.tarballs);
    if (directory === undefined) {
      directory = scratch;
      if (!run(process.execPath, [join(ROOT, 'scripts', 'release-dry-run.ts'), '--pack-into', scratch], ROOT)) return 1;
    }
    const index = JSON.parse(readFileSync(join(directory, 'tarballs.json'), 'utf8')) as TarballIndex;
    const problems = examples.flatMap((example) => certify(example, directory, index));
    if (problems.length > 0) {
      console.log('\nexamples: FAILED');
      for (const problem of problems) console.log(`  - ${problem}`);
      return 1;
    }
    console.log(`\nexamples: ${examples.length} built, tested and certified`);
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = main();
