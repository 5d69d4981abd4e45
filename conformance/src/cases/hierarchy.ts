/**
 * Hierarchy (capability `hierarchical`): a backend that is a tree cannot hold both `a` and `a/b`,
 * and such a write fails with `ALREADY_EXISTS` and changes nothing; a flat backend holds both.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { collect, rejectsWithCode } from '../assertions.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

function hierarchicalCase(spec: Omit<CaseSpec, 'capability' | 'requires'>): CaseSpec {
  return { ...spec, capability: 'hierarchical', requires: 'declared' };
}

const specs: CaseSpec[] = [
  hierarchicalCase({
    id: 'file-blocks-folder',
    name: 'where hierarchical, writing a/b while the file a exists fails with ALREADY_EXISTS and changes nothing',
    async run({ store }) {
      const file = await store.write('a', 'file a');
      await rejectsWithCode(store.write('a/b', 'below a file'), 'ALREADY_EXISTS', 'write a/b');
      await rejectsWithCode(store.write('a/b/c/d', 'deep below a file'), 'ALREADY_EXISTS', 'write a/b/c/d');
      assert.equal(await store.readText('a'), 'file a');
      assert.equal((await store.stat('a')).etag, file.etag, 'a is unchanged');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['a']);
    },
  }),
  hierarchicalCase({
    id: 'folder-blocks-file',
    name: 'where hierarchical, writing a while a/b exists fails with ALREADY_EXISTS and changes nothing',
    async run({ store }) {
      await store.write('a/b', 'in folder a');
      await store.write('x/y/z', 'deep');
      await rejectsWithCode(store.write('a', 'file over a folder'), 'ALREADY_EXISTS', 'write a');
      await rejectsWithCode(store.write('x', 'file over a deep folder'), 'ALREADY_EXISTS', 'write x');
      await rejectsWithCode(store.write('x/y', 'file over a folder'), 'ALREADY_EXISTS', 'write x/y');
      assert.equal(await store.readText('a/b'), 'in folder a');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['a/b', 'x/y/z']);
      assert.equal(await store.exists('a'), false, 'no file a');
    },
  }),
  hierarchicalCase({
    id: 'copy-and-move-conflicts',
    name: 'where hierarchical, a copy or move onto a file/folder conflict fails with ALREADY_EXISTS and keeps the source',
    async run({ store }) {
      await store.write('file', 'a file');
      await store.write('dir/inner', 'in a folder');
      await store.write('src', 'source');
      await rejectsWithCode(store.copy('src', 'file/below'), 'ALREADY_EXISTS', 'copy below a file');
      await rejectsWithCode(store.copy('src', 'dir'), 'ALREADY_EXISTS', 'copy onto a folder');
      await rejectsWithCode(store.move('src', 'file/below'), 'ALREADY_EXISTS', 'move below a file');
      await rejectsWithCode(store.move('src', 'dir'), 'ALREADY_EXISTS', 'move onto a folder');
      assert.equal(await store.readText('src'), 'source', 'the source stays');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['dir/inner', 'file', 'src']);
    },
  }),
  hierarchicalCase({
    id: 'emptied-folder-frees-name',
    name: 'where hierarchical, a folder whose objects were all deleted no longer blocks a file of its name, and vice versa',
    async run({ store }) {
      await store.write('a/b/c', 'x');
      await store.delete('a/b/c');
      await store.write('a', 'now a file');
      assert.equal(await store.readText('a'), 'now a file');
      await store.delete('a');
      await store.write('a/b', 'a folder again');
      assert.equal(await store.readText('a/b'), 'a folder again');
    },
  }),
  {
    id: 'flat-coexist',
    name: 'where not hierarchical, a and a/b coexist, and the delimiter lists a as a file and a/ as a folder',
    capability: 'hierarchical',
    requires: 'undeclared',
    async run({ store }) {
      await store.write('a', 'file a');
      await store.write('a/b', 'file a/b');
      await store.write('c/d', 'file c/d');
      await store.write('c', 'file c');
      assert.equal(await store.readText('a'), 'file a');
      assert.equal(await store.readText('a/b'), 'file a/b');
      assert.equal(await store.readText('c'), 'file c');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['a', 'a/b', 'c', 'c/d']);
      const top = await store.list({ delimiter: '/' });
      assert.deepEqual(top.items.map((item) => item.key), ['a', 'c']);
      assert.deepEqual(top.prefixes, ['a/', 'c/']);
      assert.equal(await store.isFolder('a'), true);
      await store.delete('a');
      assert.equal(await store.readText('a/b'), 'file a/b', 'deleting a leaves a/b');
    },
  },
];

/** The `hierarchy` group. */
export const hierarchyCases: readonly ConformanceCase[] = defineGroup('hierarchy', specs);
