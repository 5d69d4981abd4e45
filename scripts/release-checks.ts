/**
 * What the release dry run checks once `changeset version` has run: the versions it chose, the
 * changelogs it wrote, and the peer-range rule of .changeset/README.md.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listWorkspacePackages, type WorkspacePackage } from './workspace.ts';

function parseVersion(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`version ${JSON.stringify(version)} is not x.y.z (pre-releases are not handled by this check)`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * Whether `version` satisfies `^base`: the same major from 1.0 on, the same minor in 0.x, the same
 * patch in 0.0.x (semver's caret, for plain x.y.z versions only).
 */
export function satisfiesCaret(version: string, base: string): boolean {
  const [major, minor, patch] = parseVersion(version);
  const [baseMajor, baseMinor, basePatch] = parseVersion(base);
  const atLeast = major > baseMajor || (major === baseMajor && (minor > baseMinor || (minor === baseMinor && patch >= basePatch)));
  if (!atLeast) return false;
  if (baseMajor > 0) return major === baseMajor;
  if (baseMinor > 0) return major === 0 && minor === baseMinor;
  return major === 0 && minor === 0 && patch === basePatch;
}

/** The workspace's packages at `root`, by name. */
export function readVersions(root: string): Map<string, WorkspacePackage> {
  return new Map(listWorkspacePackages(root).map((pkg) => [pkg.name, pkg]));
}

/** The version of the first `## x.y.z` heading of a changelog, if there is one. */
function newestChangelogEntry(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  return /^## (\S+)/m.exec(readFileSync(file, 'utf8'))?.[1];
}

/** What {@link checkVersioning} found. */
export interface VersioningReport {
  /** What is wrong with the versions `changeset version` chose. */
  problems: string[];
  /** `name from → to` for each package to release. */
  bumped: string[];
}

/**
 * Compares the workspace before and after `changeset version`:
 * - a private package keeps its version;
 * - a bumped package's CHANGELOG.md starts with an entry for its new version;
 * - a released package whose workspace peer (`workspace:^`) moves out of the peer's previous caret
 *   range gets a breaking bump itself (a minor in 0.x, a major from 1.0). changesets gives such a
 *   dependent a patch, and a patch that needs a newer peer breaks the installs of every current user:
 *   npm refuses the peer conflict instead of keeping the previous patch.
 */
export function checkVersioning(before: ReadonlyMap<string, WorkspacePackage>, after: ReadonlyMap<string, WorkspacePackage>): VersioningReport {
  const problems: string[] = [];
  const bumped: string[] = [];
  for (const [name, next] of after) {
    const previous = before.get(name);
    if (!previous) continue;
    const from = previous.manifest.version;
    const to = next.manifest.version;
    if (from === to) continue;
    if (!next.publishable) {
      problems.push(`${name} is private but changeset version moved it from ${from} to ${to} (privatePackages.version must stay false)`);
      continue;
    }
    bumped.push(`${name} ${from} → ${to}`);
    const entry = newestChangelogEntry(join(next.dir, 'CHANGELOG.md'));
    if (entry !== to) problems.push(`${name}: CHANGELOG.md's newest entry is ${entry ?? 'missing'}, expected ${to}`);
  }
  for (const [name, next] of after) {
    const previous = before.get(name);
    // 0.0.0 was never released: it has no users whose installs could break.
    if (!previous || !next.publishable || previous.manifest.version === '0.0.0') continue;
    for (const [peer, range] of Object.entries(next.manifest.peerDependencies ?? {})) {
      const peerBefore = before.get(peer)?.manifest.version;
      const peerAfter = after.get(peer)?.manifest.version;
      if (peerBefore === undefined || peerAfter === undefined || range !== 'workspace:^' || peerBefore === '0.0.0') continue;
      if (satisfiesCaret(peerAfter, peerBefore)) continue;
      if (!satisfiesCaret(next.manifest.version, previous.manifest.version)) continue;
      const bump = parseVersion(previous.manifest.version)[0] === 0 ? 'minor' : 'major';
      problems.push(
        `${name} ${previous.manifest.version} → ${next.manifest.version} would need ${peer} ^${peerAfter}, outside its previous peer range ^${peerBefore}: ` +
          `installs of ${name}'s current users would break, so it needs a breaking bump of its own. Add a changeset with "${name}": ${bump}.`,
      );
    }
  }
  return { problems, bumped };
}
