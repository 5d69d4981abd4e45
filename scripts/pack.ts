/**
 * Installable tarballs of the checkout, for using the packages before they are on the npm registry
 * (or with changes of your own): `bash scripts/run.sh pack DIR` runs this.
 *
 *   node scripts/pack.ts DIR [--no-build]
 *
 * Builds every package (turbo, cached), packs each publishable one with `pnpm pack` into DIR, and
 * points every `@stowage/*` dependency and peer of a packed package.json at its sibling tarball in
 * DIR (`file:/abs/DIR/stowage-core-0.0.0.tgz`) instead of the registry range `pnpm pack` writes
 * (`^0.0.0`, which the registry does not have): any tarball installs with npm from any project,
 * alone or with others, and brings the `@stowage/*` packages it needs from DIR, all of one
 * checkout. DIR/tarballs.json lists them (`scripts/install-check.ts --tarballs DIR` reads it).
 * Because the tarballs name each other by path, keep them together in DIR.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, listWorkspacePackages, tarballName, type PackageManifest, type PackedTarball, type TarballIndex } from './workspace.ts';

/** The fields whose `@stowage/*` entries are pointed at the sibling tarballs. */
const LINKED_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

function run(command: string, args: readonly string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${`${stdout}${stderr}`.trim().split('\n').slice(-30).join('\n')}`);
  }
}

/** The packed package.json of the tarball at `path`. */
export function readPackedManifest(path: string): PackageManifest {
  return JSON.parse(execFileSync('tar', ['-xOzf', path, 'package/package.json']).toString('utf8')) as PackageManifest;
}

/**
 * Packs every publishable package of the checkout at `root` into `destination` (created when
 * missing), with `@stowage/*` dependencies and peers pointing at the sibling tarballs; writes
 * tarballs.json there and returns what it lists. `build: false` packs what is built already.
 */
export function packCheckout(destination: string, options: { root?: string; build?: boolean } = {}): TarballIndex {
  const root = options.root ?? ROOT;
  const directory = resolve(destination);
  mkdirSync(directory, { recursive: true });
  if (options.build !== false) run('pnpm', ['turbo', 'run', 'build', '--concurrency=2', '--output-logs=errors-only'], root);
  const packages = listWorkspacePackages(root).filter((pkg) => pkg.publishable);
  const files = new Map(packages.map((pkg) => [pkg.name, tarballName(pkg.name, pkg.manifest.version)]));
  const staging = mkdtempSync(join(tmpdir(), 'stowage-pack-'));
  const tarballs: PackedTarball[] = [];
  try {
    for (const pkg of packages) {
      const file = files.get(pkg.name)!;
      run('pnpm', ['pack', '--pack-destination', staging], pkg.dir);
      const packed = join(staging, file);
      if (!existsSync(packed)) throw new Error(`pnpm pack did not write ${file} for ${pkg.name}`);
      const unpacked = join(staging, pkg.name.replace(/\W+/g, '-'));
      mkdirSync(unpacked);
      execFileSync('tar', ['-xzf', packed, '-C', unpacked]);
      const manifestFile = join(unpacked, 'package', 'package.json');
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as PackageManifest;
      for (const field of LINKED_FIELDS) {
        for (const name of Object.keys(manifest[field] ?? {})) {
          const sibling = files.get(name);
          if (sibling !== undefined) manifest[field]![name] = `file:${join(directory, sibling)}`;
        }
      }
      const leftover = LINKED_FIELDS.flatMap((field) => Object.entries(manifest[field] ?? {}).filter(([, range]) => range.startsWith('workspace:')).map(([name]) => name));
      if (leftover.length > 0) throw new Error(`${pkg.name}: the packed package.json still has workspace: ranges for ${leftover.join(', ')}`);
      writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
      rmSync(join(directory, file), { force: true });
      execFileSync('tar', ['-czf', join(directory, file), '-C', unpacked, 'package']);
      tarballs.push({ name: pkg.name, version: pkg.manifest.version, file });
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const index: TarballIndex = { source: 'workspace', tarballs };
  writeFileSync(join(directory, 'tarballs.json'), `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/** The npm command that installs the named packages' tarballs of `index` in `directory` (with `extra` from the registry). */
export function installCommand(directory: string, index: TarballIndex, names: readonly string[], extra: readonly string[] = [], global = false): string[] {
  const files = names.map((name) => {
    const tarball = index.tarballs.find((candidate) => candidate.name === name);
    if (!tarball) throw new Error(`no tarball of ${name} in ${directory}`);
    return join(directory, tarball.file);
  });
  return ['npm', 'install', ...(global ? ['-g'] : []), ...files, ...extra];
}

function main(): number {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'no-build': { type: 'boolean', default: false } } });
  if (positionals.length !== 1) {
    console.error('usage: node scripts/pack.ts DIR [--no-build]');
    return 2;
  }
  const directory = resolve(positionals[0]!);
  const index = packCheckout(directory, { build: !values['no-build'] });
  const quote = (words: string[]): string => words.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
  console.log(`==> ${index.tarballs.length} tarballs in ${directory} (each finds the @stowage packages it needs there: keep them together)`);
  for (const tarball of index.tarballs) console.log(`    ${tarball.file}`);
  console.log('\nInstall what you use into another project, for example the library with memory and SQLite stores:');
  console.log(`  ${quote(installCommand(directory, index, ['@stowage/core', '@stowage/memory', '@stowage/sql-blob'], ['better-sqlite3']))}`);
  console.log('or the stowage command, globally:');
  console.log(`  ${quote(installCommand(directory, index, ['@stowage/cli'], [], true))}`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(`pack: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
