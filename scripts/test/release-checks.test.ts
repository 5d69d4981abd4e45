/**
 * The release policy of .changeset/README.md, on a small workspace of its own with the repository's
 * changesets configuration: what a release of core does to its peer dependents under the real
 * `changeset version`, and that the release dry run's check catches the one case that breaks users.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkVersioning, readVersions, satisfiesCaret } from '../release-checks.ts';
import { ROOT } from '../workspace.ts';

const CHANGESET = join(ROOT, 'node_modules', '.bin', 'changeset');
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

interface Fixture {
  root: string;
  version(changeset: Record<string, 'patch' | 'minor' | 'major'>): Map<string, string>;
}

/** @stowage/core, two adapters with core as a `workspace:^` peer, and a private package depending on core. */
function workspace(versions: { core: string; adapters: string }): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'stowage-release-policy-'));
  folders.push(root);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'policy', private: true }));
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  mkdirSync(join(root, '.changeset'));
  copyFileSync(join(ROOT, '.changeset', 'config.json'), join(root, '.changeset', 'config.json'));
  const write = (folder: string, manifest: Record<string, unknown>): void => {
    mkdirSync(join(root, 'packages', folder), { recursive: true });
    writeFileSync(join(root, 'packages', folder, 'package.json'), JSON.stringify(manifest, null, 2));
  };
  write('core', { name: '@stowage/core', version: versions.core });
  for (const name of ['local', 'memory']) {
    write(name, { name: `@stowage/${name}`, version: versions.adapters, peerDependencies: { '@stowage/core': 'workspace:^' }, devDependencies: { '@stowage/core': 'workspace:*' } });
  }
  write('bench', { name: '@stowage/bench', version: '0.0.0', private: true, dependencies: { '@stowage/core': 'workspace:*' } });
  execFileSync('git', ['init', '--quiet'], { cwd: root });
  return {
    root,
    version(changeset) {
      const lines = Object.entries(changeset).map(([name, bump]) => `"${name}": ${bump}`);
      writeFileSync(join(root, '.changeset', 'change.md'), `---\n${lines.join('\n')}\n---\n\nA change.\n`);
      execFileSync(CHANGESET, ['version'], { cwd: root, stdio: 'pipe' });
      return new Map([...readVersions(root)].map(([name, pkg]) => [name, pkg.manifest.version]));
    },
  };
}

describe('satisfiesCaret', () => {
  test.each([
    ['0.1.5', '0.1.0', true],
    ['0.2.0', '0.1.0', false],
    ['0.1.0', '0.1.1', false],
    ['1.9.0', '1.0.0', true],
    ['2.0.0', '1.0.0', false],
    ['0.0.1', '0.0.1', true],
    ['0.0.2', '0.0.1', false],
  ])('%s satisfies ^%s: %s', (version, base, expected) => {
    expect(satisfiesCaret(version, base)).toBe(expected);
  });
  test('refuses what it cannot judge', () => {
    expect(() => satisfiesCaret('1.0.0-next.1', '1.0.0')).toThrow(/pre-releases/);
  });
});

describe('changeset version under the repository configuration', () => {
  test('a core patch releases core alone', () => {
    const versions = workspace({ core: '0.1.0', adapters: '0.1.0' }).version({ '@stowage/core': 'patch' });
    expect(Object.fromEntries(versions)).toMatchObject({ '@stowage/core': '0.1.1', '@stowage/local': '0.1.0', '@stowage/memory': '0.1.0', '@stowage/bench': '0.0.0' });
  });

  test('from 1.0 on, a core minor releases core alone', () => {
    const versions = workspace({ core: '1.0.0', adapters: '1.0.0' }).version({ '@stowage/core': 'minor' });
    expect(Object.fromEntries(versions)).toMatchObject({ '@stowage/core': '1.1.0', '@stowage/local': '1.0.0', '@stowage/memory': '1.0.0' });
  });

  test('a core minor in 0.x gives the adapters a patch, which the dry run refuses, naming the changeset to add', () => {
    const fixture = workspace({ core: '0.1.0', adapters: '0.1.0' });
    const before = readVersions(fixture.root);
    const versions = fixture.version({ '@stowage/core': 'minor' });
    expect(Object.fromEntries(versions)).toMatchObject({ '@stowage/core': '0.2.0', '@stowage/local': '0.1.1', '@stowage/memory': '0.1.1', '@stowage/bench': '0.0.0' });
    const { problems, bumped } = checkVersioning(before, readVersions(fixture.root));
    expect(bumped).toEqual(['@stowage/core 0.1.0 → 0.2.0', '@stowage/local 0.1.0 → 0.1.1', '@stowage/memory 0.1.0 → 0.1.1']);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/@stowage\/local 0\.1\.0 → 0\.1\.1 would need @stowage\/core \^0\.2\.0, outside its previous peer range \^0\.1\.0/);
    expect(problems[0]).toMatch(/"@stowage\/local": minor/);
  });

  test('with the adapters named as breaking too, the dry run accepts the release and every changelog is written', () => {
    const fixture = workspace({ core: '0.1.0', adapters: '0.1.0' });
    const before = readVersions(fixture.root);
    const versions = fixture.version({ '@stowage/core': 'minor', '@stowage/local': 'minor', '@stowage/memory': 'minor' });
    expect(Object.fromEntries(versions)).toMatchObject({ '@stowage/core': '0.2.0', '@stowage/local': '0.2.0', '@stowage/memory': '0.2.0' });
    expect(checkVersioning(before, readVersions(fixture.root)).problems).toEqual([]);
    expect(readFileSync(join(fixture.root, 'packages', 'local', 'CHANGELOG.md'), 'utf8')).toMatch(/^# @stowage\/local\n\n## 0\.2\.0\n/);
  });

  test('a core major gives the adapters a patch too (never a major), which the dry run refuses', () => {
    const fixture = workspace({ core: '1.0.0', adapters: '1.0.0' });
    const before = readVersions(fixture.root);
    const versions = fixture.version({ '@stowage/core': 'major' });
    expect(Object.fromEntries(versions)).toMatchObject({ '@stowage/core': '2.0.0', '@stowage/local': '1.0.1' });
    expect(checkVersioning(before, readVersions(fixture.root)).problems.join('\n')).toMatch(/"@stowage\/local": major/);
  });

  test('a first release (everything at 0.0.0) passes, and a missing changelog entry does not', () => {
    const fixture = workspace({ core: '0.0.0', adapters: '0.0.0' });
    const before = readVersions(fixture.root);
    fixture.version({ '@stowage/core': 'minor', '@stowage/local': 'minor', '@stowage/memory': 'minor' });
    const after = readVersions(fixture.root);
    expect(checkVersioning(before, after).problems).toEqual([]);
    rmSync(join(fixture.root, 'packages', 'memory', 'CHANGELOG.md'));
    expect(checkVersioning(before, after).problems).toEqual(["@stowage/memory: CHANGELOG.md's newest entry is missing, expected 0.1.0"]);
  });
});
