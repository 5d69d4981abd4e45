/**
 * `pnpm release`: builds, checks and publishes, after `changeset version` has been committed.
 *
 *   1. `turbo run build typecheck lint lint:repository`, then `vitest run` (every project; servers
 *      are found as the tests always find them);
 *   2. `changeset publish-plan`: the packages whose version is not on the registry yet;
 *   3. `changeset pack` of exactly those into a folder, and `pnpm pack` of the others (already
 *      published, needed to install the new ones);
 *   4. the install check on those tarballs: each package installed alone into an empty project with
 *      npm, and used;
 *   5. `changeset publish --from-pack-dir`: the tarballs that passed step 4 are the ones published.
 *
 *   node --conditions=@stowage/source scripts/release.ts [--no-publish]
 *
 * `--no-publish` stops after step 4. `pnpm release:dry-run` rehearses the release on a scratch copy
 * without asking the registry anything (scripts/release-dry-run.ts).
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, listWorkspacePackages, tarballName, type PackedTarball, type TarballIndex } from './workspace.ts';

const { values } = parseArgs({ options: { 'no-publish': { type: 'boolean', default: false } } });

/** What `changeset publish-plan` and `changeset pack` write: groups of releases, in publishing order. */
interface PublishPlan {
  version: number;
  plan: { kind: 'publish' | 'tag-only'; name: string; version: string; tarball?: { path: string } }[][];
}

function run(command: string, args: readonly string[]): void {
  console.log(`\n==> ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `status ${result.status}`})`);
}

function main(): number {
  const work = mkdtempSync(join(tmpdir(), 'stowage-release-'));
  try {
    run('pnpm', ['turbo', 'run', 'build', 'typecheck', 'lint', 'lint:repository', '--concurrency=2']);
    run('pnpm', ['exec', 'vitest', 'run']);

    const planFile = join(work, 'publish-plan.json');
    run('pnpm', ['exec', 'changeset', 'publish-plan', '--output', planFile]);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as PublishPlan;
    const releases = plan.plan.flat().filter((release) => release.kind === 'publish');
    if (releases.length === 0) {
      console.log('\nrelease: every package version is on the registry already; nothing to publish');
      return 0;
    }

    const packDir = join(work, 'pack');
    run('pnpm', ['exec', 'changeset', 'pack', '--from-publish-plan', planFile, '--out-dir', packDir]);
    const packed = JSON.parse(readFileSync(join(packDir, 'publish-plan.json'), 'utf8')) as PublishPlan;
    const tarballs: PackedTarball[] = [];
    const others = join(packDir, 'published');
    mkdirSync(others, { recursive: true });
    for (const release of packed.plan.flat()) {
      if (release.kind === 'publish' && release.tarball) tarballs.push({ name: release.name, version: release.version, file: release.tarball.path });
    }
    for (const pkg of listWorkspacePackages().filter((candidate) => candidate.publishable)) {
      if (tarballs.some((tarball) => tarball.name === pkg.name)) continue;
      console.log(`\n==> pnpm pack ${pkg.name}@${pkg.manifest.version} (published already; the install check needs it)`);
      const result = spawnSync('pnpm', ['pack', '--pack-destination', others], { cwd: pkg.dir, stdio: 'inherit' });
      if (result.status !== 0) throw new Error(`pnpm pack of ${pkg.name} failed`);
      tarballs.push({ name: pkg.name, version: pkg.manifest.version, file: join(basename(others), tarballName(pkg.name, pkg.manifest.version)) });
    }
    const index: TarballIndex = { source: 'release-candidate', tarballs };
    writeFileSync(join(packDir, 'tarballs.json'), `${JSON.stringify(index, null, 2)}\n`);
    run(process.execPath, ['--conditions=@stowage/source', join(ROOT, 'scripts', 'install-check.ts'), '--tarballs', packDir]);

    console.log(`\nrelease: ${releases.map((release) => `${release.name}@${release.version}`).join(', ')}`);
    if (values['no-publish']) {
      console.log('release: --no-publish, so nothing was published');
      return 0;
    }
    run('pnpm', ['exec', 'changeset', 'publish', '--from-pack-dir', packDir]);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(`\nrelease: ${(error as Error).message}`);
  process.exitCode = 1;
}
