/**
 * The reliability checks on the local filesystem, and confinement as a property: no sequence of
 * operations on hostile keys (`..`, encoded separators, the names of links planted in the root)
 * reads or changes anything outside the root.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Store, isStowageError } from '@stowage/core';
import { describeReliability } from '@stowage/conformance/reliability';
import { LocalBackend } from '@stowage/local';

describeReliability({
  name: 'local',
  factory: async () => {
    const directory = await mkdtemp(join(tmpdir(), 'stowage-local-reliability-'));
    const backend = new LocalBackend({ root: directory });
    return { store: new Store(backend), teardown: () => rm(directory, { recursive: true, force: true }) };
  },
  // Each key is a file and its folders (about 5 ms each here): the time limit bounds the run.
  keys: { timeLimitMs: 20_000 },
});

const SECRET = 'SECRET-OUTSIDE-THE-ROOT';

/** Every file, directory and link below `directory`, with contents and link targets. */
async function snapshot(directory: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(directory)).sort()) {
    const path = join(directory, name);
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) out.push(`${prefix}${name} -> ${await readlink(path)}`);
    else if (stats.isDirectory()) out.push(`${prefix}${name}/`, ...(await snapshot(path, `${prefix}${name}/`)));
    else out.push(`${prefix}${name} = ${await readFile(path, 'utf8')}`);
  }
  return out;
}

const SEGMENTS = ['link-file', 'link-dir', 'link-up', 'inner', 'link', 'secret.txt', 'dir', 'a', 'x.txt', '..', '.', '%2e%2e', '%2F', '..%2F..', '%5C', '', 'inner%2Flink', '.stowage', 'tmp', 'meta'];

const hostilePath = fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/'));
const operation = fc.record({
  op: fc.constantFrom('write', 'read', 'stat', 'delete', 'copy', 'move', 'list', 'deleteFolder'),
  key: hostilePath,
  other: hostilePath,
});

describe('local confinement, property-based', () => {
  it('no sequence of hostile operations reads or writes outside the root, through keys, .., encoded separators or planted links', async () => {
    const seed = Number(process.env.STOWAGE_TEST_SEED) || 20261201;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 15 }), async (operations) => {
        const base = await mkdtemp(join(tmpdir(), 'stowage-confinement-'));
        try {
          const root = join(base, 'root');
          const outside = join(base, 'outside');
          await mkdir(join(outside, 'dir'), { recursive: true });
          await writeFile(join(outside, 'secret.txt'), SECRET);
          await writeFile(join(outside, 'dir', 'secret.txt'), SECRET);
          await mkdir(join(root, 'inner'), { recursive: true });
          await symlink(join(outside, 'secret.txt'), join(root, 'link-file'));
          await symlink(join(outside, 'dir'), join(root, 'link-dir'));
          await symlink('..', join(root, 'link-up'));
          await symlink('../../outside', join(root, 'inner', 'link'));
          const before = await snapshot(outside);
          const store = new Store(new LocalBackend({ root }));
          for (const { op, key, other } of operations) {
            try {
              if (op === 'write') await store.write(key, `written as ${key}`);
              else if (op === 'read') expect(await store.readText(key)).not.toContain(SECRET);
              else if (op === 'stat') await store.stat(key);
              else if (op === 'delete') await store.delete(key);
              else if (op === 'copy') await store.copy(key, other);
              else if (op === 'move') await store.move(key, other);
              else if (op === 'deleteFolder') await store.deleteFolder(key);
              else for await (const entry of store.listAll({ prefix: key.endsWith('/') ? key : '' })) expect(await store.readText(entry.key)).not.toContain(SECRET);
            } catch (error) {
              if (!isStowageError(error)) throw error;
            }
          }
          expect(await snapshot(outside), 'nothing outside the root changed').toEqual(before);
          await store.close();
        } finally {
          await rm(base, { recursive: true, force: true });
        }
      }),
      { seed, numRuns: 150 },
    );
  }, 120_000);
});
