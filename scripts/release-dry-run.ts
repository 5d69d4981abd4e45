/**
 * The release, rehearsed on a scratch copy of the checkout, so that nothing in the checkout changes:
 *
 *   1. copy the checkout (tracked and untracked files, not ignored ones) into a temporary folder and
 *      make it a git repository on `main`, as a release clone would be;
 *   2. `pnpm install --frozen-lockfile` there (offline first: the pnpm store already has everything);
 *   3. `changeset version`, committed as the "version packages" commit a release merges, then checked:
 *      every bumped package has a CHANGELOG.md whose newest entry is its new version, private
 *      packages keep their version, and no package is offered as a non-breaking release while the
 *      new version of a workspace peer leaves its old peer range (see .changeset/README.md);
 *   4. `turbo run build`, then `pnpm publish -r --dry-run`: what `changeset publish` would publish;
 *   5. with `--pack-into DIR`: `pnpm pack` of every publishable package into DIR, each packed
 *      manifest checked for leftover `workspace:` ranges, and DIR/tarballs.json listing them (the
 *      install check and the example adapter's certification install from these).
 *
 *   node scripts/release-dry-run.ts [--pack-into DIR] [--keep]
 *
 * `--keep` leaves the scratch copy in place and prints where it is.
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkVersioning, readVersions } from './release-checks.ts';
import { ROOT, listWorkspacePackages, tarballName, type PackedTarball, type TarballIndex } from './workspace.ts';

const { values } = parseArgs({ options: { 'pack-into': { type: 'string' }, keep: { type: 'boolean', default: false } } });

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'stowage release dry run',
  GIT_AUTHOR_EMAIL: 'release-dry-run@localhost',
  GIT_COMMITTER_NAME: 'stowage release dry run',
  GIT_COMMITTER_EMAIL: 'release-dry-run@localhost',
};

function run(command: string, args: readonly string[], cwd: string, options: { quiet?: boolean } = {}): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY }, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed with status ${result.status} in ${cwd}:\n${(result.stdout + result.stderr).trim().split('\n').slice(-40).join('\n')}`);
  }
  if (!options.quiet && result.stdout.trim()) process.stdout.write(indent(result.stdout));
  return result.stdout;
}

const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}\n`)
    .join('');

function step(name: string): () => void {
  const started = performance.now();
  console.log(`==> ${name}`);
  return () => console.log(`    (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

/** Copies the checkout's tracked and untracked, not ignored files (what a commit of the working tree would hold). */
function copyCheckout(into: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 })
    .toString('utf8')
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(ROOT, file)));
  // tar keeps modes (run.sh and .ci/run stay executable) and copies thousands of files in one process.
  const packed = spawnSync('tar', ['-C', ROOT, '--null', '-T', '-', '-cf', '-'], { input: files.join('\0'), maxBuffer: 1024 * 1024 * 1024 });
  if (packed.status !== 0) throw new Error(`tar could not read the checkout: ${packed.stderr.toString()}`);
  const unpacked = spawnSync('tar', ['-C', into, '-xf', '-'], { input: packed.stdout });
  if (unpacked.status !== 0) throw new Error(`tar could not write the scratch copy: ${unpacked.stderr.toString()}`);
}

// ---- packing ------------------------------------------------------------------------------------

function packInto(root: string, destination: string): PackedTarball[] {
  mkdirSync(destination, { recursive: true });
  const tarballs: PackedTarball[] = [];
  for (const pkg of listWorkspacePackages(root).filter((candidate) => candidate.publishable)) {
    run('pnpm', ['pack', '--pack-destination', destination], pkg.dir, { quiet: true });
    const file = tarballName(pkg.name, pkg.manifest.version);
    if (!existsSync(join(destination, file))) throw new Error(`pnpm pack did not write ${file} into ${destination}`);
    tarballs.push({ name: pkg.name, version: pkg.manifest.version, file });
  }
  return tarballs;
}

function checkPackedManifests(destination: string, tarballs: readonly PackedTarball[]): string[] {
  const problems: string[] = [];
  for (const tarball of tarballs) {
    const manifest = execFileSync('tar', ['-xOzf', join(destination, tarball.file), 'package/package.json']).toString('utf8');
    const leftover = [...manifest.matchAll(/"([^"]+)":\s*"workspace:[^"]*"/g)].map((match) => match[1]);
    if (leftover.length > 0) problems.push(`${tarball.file}: the packed package.json still has workspace: ranges for ${leftover.join(', ')}`);
  }
  return problems;
}

// ---- main ---------------------------------------------------------------------------------------

/** The checkout's state as git sees it (status and the diff of tracked files), to prove the dry run left it alone. */
function checkoutState(): string {
  const git = (args: string[]): string => execFileSync('git', args, { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }).toString('utf8');
  return `${git(['status', '--porcelain=v1', '--untracked-files=all'])}\n${git(['diff', 'HEAD', '--binary'])}`;
}

async function main(): Promise<number> {
  const scratch = mkdtempSync(join(tmpdir(), 'stowage-release-'));
  const problems: string[] = [];
  const checkoutBefore = checkoutState();
  try {
    let done = step(`scratch copy of the checkout in ${scratch}`);
    copyCheckout(scratch);
    run('git', ['init', '--quiet', '--initial-branch=main'], scratch);
    run('git', ['add', '--all'], scratch);
    run('git', ['commit', '--quiet', '--no-verify', '--message', 'release candidate'], scratch);
    done();

    done = step('pnpm install --frozen-lockfile');
    try {
      run('pnpm', ['install', '--frozen-lockfile', '--offline', '--reporter=silent'], scratch, { quiet: true });
    } catch {
      run('pnpm', ['install', '--frozen-lockfile', '--reporter=silent'], scratch, { quiet: true });
    }
    done();

    done = step('changeset version');
    const before = readVersions(scratch);
    const pending = readdirSync(join(scratch, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md');
    run('pnpm', ['exec', 'changeset', 'version'], scratch, { quiet: true });
    const after = readVersions(scratch);
    const versioning = checkVersioning(before, after);
    problems.push(...versioning.problems);
    console.log(`    ${pending.length} pending changesets; ${versioning.bumped.length} packages to release:`);
    for (const line of versioning.bumped) console.log(`      ${line}`);
    run('git', ['add', '--all'], scratch);
    run('git', ['commit', '--quiet', '--no-verify', '--allow-empty', '--message', 'version packages'], scratch);
    done();

    done = step('turbo run build');
    run('pnpm', ['turbo', 'run', 'build', '--concurrency=2', '--output-logs=errors-only'], scratch, { quiet: true });
    done();

    done = step('pnpm publish -r --dry-run (what changeset publish publishes)');
    const published = spawnSync('pnpm', ['publish', '--recursive', '--dry-run'], { cwd: scratch, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY } });
    const output = `${published.stdout}${published.stderr}`;
    process.stdout.write(indent(output));
    if (published.status !== 0) problems.push(`pnpm publish -r --dry-run failed with status ${published.status}`);
    for (const pkg of after.values()) {
      if (pkg.publishable && !output.includes(`${pkg.name}@${pkg.manifest.version}`)) {
        // Already on the registry is the only good reason for a package to be left out.
        console.log(`    (${pkg.name}@${pkg.manifest.version} is not in the dry run: already published)`);
      }
    }
    done();

    // Checked before packing: the tarballs may be asked for inside the checkout.
    if (checkoutState() !== checkoutBefore) problems.push('the checkout changed during the dry run (git status or git diff differ): only the scratch copy may change');

    if (values['pack-into'] !== undefined) {
      const destination = resolve(values['pack-into']);
      done = step(`pnpm pack of every publishable package into ${destination}`);
      const tarballs = packInto(scratch, destination);
      problems.push(...checkPackedManifests(destination, tarballs));
      const index: TarballIndex = { source: 'release-candidate', tarballs };
      writeFileSync(join(destination, 'tarballs.json'), `${JSON.stringify(index, null, 2)}\n`);
      for (const tarball of tarballs) console.log(`      ${tarball.file}`);
      done();
    }
  } finally {
    if (values.keep) console.log(`scratch copy kept in ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    console.log('\nrelease dry run: FAILED');
    for (const problem of problems) console.log(`  - ${problem}`);
    return 1;
  }
  console.log('\nrelease dry run: ok (nothing in the checkout changed)');
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`release dry run: ${(error as Error).message}`);
  process.exitCode = 1;
}
