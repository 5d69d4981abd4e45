/**
 * The package graph: `workspaceCycles` (the `package-graph` check of `pnpm lint:repository`) finds a
 * cycle through devDependencies, and the repository has none.
 */
import { describe, expect, test } from 'vitest';
import { listWorkspacePackages, workspaceCycles, type PackageManifest, type WorkspacePackage } from '../workspace.ts';

function pkg(manifest: Omit<PackageManifest, 'version'>): WorkspacePackage {
  return { name: manifest.name, dir: `/w/${manifest.name}`, path: manifest.name, manifest: { version: '0.0.0', ...manifest }, publishable: true };
}

describe('workspace cycles', () => {
  test('a cycle through devDependencies and peers is found, with the kind of each edge', () => {
    const packages = [
      pkg({ name: '@stowage/core' }),
      pkg({ name: '@stowage/conformance', peerDependencies: { '@stowage/core': 'workspace:^' }, devDependencies: { '@stowage/memory': 'workspace:*' } }),
      pkg({ name: '@stowage/memory', peerDependencies: { '@stowage/core': 'workspace:^' }, devDependencies: { '@stowage/conformance': 'workspace:*' } }),
    ];
    expect(workspaceCycles(packages)).toEqual(['@stowage/conformance → @stowage/memory (devDependencies) → @stowage/conformance (devDependencies)']);
  });

  test('a graph without one has none', () => {
    const packages = [pkg({ name: 'a', dependencies: { b: 'workspace:^' } }), pkg({ name: 'b', devDependencies: { c: 'workspace:*' } }), pkg({ name: 'c' })];
    expect(workspaceCycles(packages)).toEqual([]);
  });

  test('the repository has no cycle among its packages', () => {
    expect(workspaceCycles(listWorkspacePackages())).toEqual([]);
  });
});
