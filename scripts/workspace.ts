/**
 * The workspace's packages, read from pnpm-workspace.yaml and each package.json, so that the release
 * and packaging checks iterate over whatever packages exist instead of a list kept by hand.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root (this file lives in scripts/). */
export const ROOT: string = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** The fields of package.json the checks read. */
export interface PackageManifest {
  name: string;
  version: string;
  private?: boolean;
  files?: string[];
  bin?: string | Record<string, string>;
  exports?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

/** One package of the workspace. */
export interface WorkspacePackage {
  /** Its name, such as `@stowage/core`. */
  readonly name: string;
  /** Its absolute folder. */
  readonly dir: string;
  /** Its folder relative to the repository root, such as `packages/core`. */
  readonly path: string;
  /** Its package.json as it is on disk. */
  readonly manifest: PackageManifest;
  /** Whether it is published (not `"private": true`). */
  readonly publishable: boolean;
}

/** The folders the globs of pnpm-workspace.yaml name (only `dir` and `dir/*` forms are used here). */
function expandGlob(root: string, pattern: string): string[] {
  if (pattern.startsWith('!')) throw new Error(`pnpm-workspace.yaml: negated pattern ${pattern} is not supported by scripts/workspace.ts`);
  const clean = pattern.replace(/\/$/, '');
  if (!clean.includes('*')) return [join(root, clean)];
  if (!clean.endsWith('/*') || clean.slice(0, -2).includes('*')) {
    throw new Error(`pnpm-workspace.yaml: pattern ${pattern} is not supported by scripts/workspace.ts (use "dir" or "dir/*")`);
  }
  const parent = join(root, clean.slice(0, -2));
  if (!existsSync(parent)) return [];
  return readdirSync(parent, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(parent, entry.name))
    .sort();
}

/** Every package of the workspace at `root` (the root package itself excluded), sorted by name. */
export function listWorkspacePackages(root: string = ROOT): WorkspacePackage[] {
  const workspace = parse(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')) as { packages?: string[] } | null;
  const packages: WorkspacePackage[] = [];
  for (const pattern of workspace?.packages ?? []) {
    for (const dir of expandGlob(root, pattern)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as PackageManifest;
      packages.push({ name: manifest.name, dir, path: relative(root, dir), manifest, publishable: manifest.private !== true });
    }
  }
  return packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every workspace package another one depends on, of any kind, with the kind. */
function workspaceEdges(pkg: WorkspacePackage, workspace: ReadonlyMap<string, WorkspacePackage>): Map<string, string> {
  const edges = new Map<string, string>();
  for (const kind of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const) {
    for (const name of Object.keys(pkg.manifest[kind] ?? {})) {
      if (workspace.has(name) && name !== pkg.name && !edges.has(name)) edges.set(name, kind);
    }
  }
  return edges;
}

/** The dependency cycles among the workspace's packages, each as `a → b (devDependencies) → a`. */
export function workspaceCycles(packages: readonly WorkspacePackage[]): string[] {
  const workspace = new Map(packages.map((pkg) => [pkg.name, pkg]));
  const cycles = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const path: { name: string; kind: string }[] = [];
  const visit = (name: string, kind: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'open') {
      const start = path.findIndex((step) => step.name === name);
      const loop = [...path.slice(start), { name, kind }];
      cycles.add(loop.map((step, index) => (index === 0 ? step.name : `${step.name} (${step.kind})`)).join(' → '));
      return;
    }
    state.set(name, 'open');
    path.push({ name, kind });
    for (const [next, edge] of workspaceEdges(workspace.get(name)!, workspace)) visit(next, edge);
    path.pop();
    state.set(name, 'done');
  };
  for (const pkg of packages) visit(pkg.name, '');
  return [...cycles];
}

/** The file name `pnpm pack` gives a package's tarball: `@stowage/core@0.1.0` → `stowage-core-0.1.0.tgz`. */
export function tarballName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** One packed package, as DIR/tarballs.json lists it. */
export interface PackedTarball {
  name: string;
  version: string;
  /** The tarball's file name inside DIR. */
  file: string;
}

/** What DIR/tarballs.json holds. */
export interface TarballIndex {
  /** Where the tarballs came from: a rehearsed release, or the checkout's packages as they are. */
  source: 'release-candidate' | 'workspace';
  tarballs: PackedTarball[];
}

/** npm's cache for the install checks: kept between runs, so that a second run downloads nothing. */
export const NPM_CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stowage', 'npm');
/** The options of every npm install the checks run; a stalled download fails after a minute rather than npm's default five. */
export const NPM_OPTIONS: readonly string[] = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `--cache=${NPM_CACHE}`, '--fetch-timeout=60000'];
