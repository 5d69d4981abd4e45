/**
 * Delete: idempotent, one key or many in one call, and gone for every later operation.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { collect, rejectsWithCode } from '../assertions.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, writeAll, type CaseSpec } from './define.ts';

const specs: CaseSpec[] = [
  {
    id: 'gone',
    name: 'after a delete, stat and read fail with NOT_FOUND and exists is false',
    async run({ store }) {
      await store.write('doomed.txt', 'x');
      await store.delete('doomed.txt');
      await rejectsWithCode(store.stat('doomed.txt'), 'NOT_FOUND', 'stat');
      await rejectsWithCode(store.readBytes('doomed.txt'), 'NOT_FOUND', 'readBytes');
      assert.equal(await store.exists('doomed.txt'), false);
    },
  },
  {
    id: 'idempotent',
    name: 'deleting a missing key succeeds, and deleting twice succeeds',
    async run({ store }) {
      await store.delete('never-written.txt');
      await store.delete('deep/never/written.txt');
      await store.write('twice.txt', 'x');
      await store.delete('twice.txt');
      await store.delete('twice.txt');
      assert.equal(await store.exists('twice.txt'), false);
    },
  },
  {
    id: 'only-the-key',
    name: 'deleting a key leaves keys that share its prefix, and deleting a folder name deletes nothing',
    async run({ store }) {
      await writeAll(store, ['p.txt', 'p.txt.bak', 'dir/inner.txt', 'dir-x']);
      await store.delete('p.txt');
      await store.delete('dir');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['dir-x', 'dir/inner.txt', 'p.txt.bak']);
    },
  },
  {
    id: 'many',
    name: 'deleteMany deletes the present keys of a mix of present and missing ones, and nothing else',
    async run({ store }) {
      await writeAll(store, ['a', 'b', 'c', 'd/e']);
      await store.deleteMany(['a', 'missing', 'c', 'also/missing', 'd/e']);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['b']);
      await store.deleteMany([]);
      await store.deleteMany(['a', 'a']);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['b']);
    },
  },
  {
    id: 'many-batches',
    name: 'deleteMany with more keys than one backend batch deletes them all',
    async run({ store }) {
      const keys = Array.from({ length: 2500 }, (_, i) => `m/${String(i).padStart(4, '0')}`);
      const present = [keys[0]!, keys[999]!, keys[1000]!, keys[2499]!];
      await writeAll(store, present);
      await store.write('m-kept', 'x');
      await store.deleteMany(keys);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['m-kept']);
    },
  },
  {
    id: 'rewrite',
    name: 'a deleted key can be written again, with fresh content and metadata',
    async run({ store }) {
      await store.write('again.txt', 'first', { contentType: 'text/x-first' });
      await store.delete('again.txt');
      await store.write('again.txt', 'second');
      const info = await store.stat('again.txt');
      assert.equal(info.contentType, 'text/plain');
      assert.equal(await store.readText('again.txt'), 'second');
    },
  },
];

/** The `delete` group. */
export const deleteCases: readonly ConformanceCase[] = defineGroup('delete', specs);
