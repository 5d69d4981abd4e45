/**
 * Listing: prefixes, the `/` delimiter and common prefixes, pages and cursors, the iterators, glob
 * and folder helpers, and list-after-write / list-after-delete consistency.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { compareUtf16, compareUtf8, type Capabilities, type ListOptions, type ListPage, type Store } from '@stowage/core';
import { assertNoBackendCalls, collect, inParallel, rejectsWithCode } from '../assertions.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, shuffled, writeAll, type CaseSpec } from './define.ts';

function comparator(capabilities: Capabilities): (a: string, b: string) => number {
  return capabilities.listOrder === 'utf16' ? compareUtf16 : compareUtf8;
}

/** A page's items and prefixes merged into one sequence, checking that each list is itself in order. */
function mergedPage(page: ListPage, compare: (a: string, b: string) => number, what: string): string[] {
  const items = page.items.map((item) => item.key);
  assert.deepEqual(items, items.slice().sort(compare), `${what}: items are in order`);
  assert.deepEqual(page.prefixes, page.prefixes.slice().sort(compare), `${what}: prefixes are in order`);
  for (const prefix of page.prefixes) assert.ok(prefix.endsWith('/'), `${what}: prefix ${JSON.stringify(prefix)} ends with /`);
  return [...items, ...page.prefixes].sort(compare);
}

/** Every page of a listing with `limit`, merged; checks each page's size and that only the last has no cursor. */
async function listPaged(store: Store, options: ListOptions, compare: (a: string, b: string) => number, strictLimit: boolean): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...options, cursor });
    const what = `page ${pages + 1} with limit ${options.limit ?? 1000}`;
    const entries = mergedPage(page, compare, what);
    if (strictLimit) assert.ok(entries.length <= (options.limit ?? 1000), `${what}: ${entries.length} entries, more than the limit`);
    if (page.cursor !== undefined) {
      assert.equal(typeof page.cursor, 'string', `${what}: the cursor is a string`);
      assert.notEqual(page.cursor, '', `${what}: the cursor is not empty`);
    }
    out.push(...entries);
    cursor = page.cursor;
    assert.ok(++pages < 10_000, 'the listing ends');
  } while (cursor);
  return out;
}

const TREE = ['a.txt', 'd/x', 'd/y/z', 'd/y/zz', 'e-f', 'e/g', 'p/a', 'p/b/c', 'pa', 'z'];

const specs: CaseSpec[] = [
  {
    id: 'prefix',
    name: 'a prefix lists exactly the keys that start with it, at every depth',
    async run({ store, capabilities }) {
      await writeAll(store, shuffled(TREE));
      const keys = async (prefix: string) => (await collect(store.listAll({ prefix }))).map((item) => item.key);
      const compare = comparator(capabilities);
      assert.deepEqual(await keys('p/'), ['p/a', 'p/b/c'], 'prefix p/');
      assert.deepEqual(await keys('d/y/'), ['d/y/z', 'd/y/zz'], 'prefix d/y/');
      assert.deepEqual(await keys(''), TREE.slice().sort(compare), 'no prefix');
      assert.deepEqual(await keys('nothing'), [], 'a prefix that matches nothing');
    },
  },
  {
    id: 'prefix-inside-segment',
    name: 'a prefix that ends inside a segment matches files and folders that start with it',
    async run({ store, capabilities }) {
      await writeAll(store, shuffled(TREE));
      const keys = async (prefix: string) => (await collect(store.listAll({ prefix }))).map((item) => item.key);
      assert.deepEqual(await keys('p'), ['p/a', 'p/b/c', 'pa'].sort(comparator(capabilities)), 'prefix p');
      assert.deepEqual(await keys('d/y/z'), ['d/y/z', 'd/y/zz'], 'prefix d/y/z');
      assert.deepEqual(await keys('e'), ['e-f', 'e/g'], 'prefix e');
    },
  },
  {
    id: 'entries',
    name: 'listed entries carry the size, modified time and etag that stat returns',
    async run({ store }) {
      await store.write('one.bin', new Uint8Array(7));
      await store.write('two/deep.bin', new Uint8Array(1234));
      for (const entry of await collect(store.listAll())) {
        const info = await store.stat(entry.key);
        assert.equal(entry.size, info.size, `${entry.key} size`);
        assert.equal(entry.etag, info.etag, `${entry.key} etag`);
        assert.ok(entry.lastModified instanceof Date, `${entry.key} lastModified is a Date`);
        assert.ok(Math.abs(entry.lastModified.getTime() - info.lastModified.getTime()) < 2000, `${entry.key} lastModified agrees with stat`);
      }
    },
  },
  {
    id: 'delimiter',
    name: "the '/' delimiter returns the files at one level and the folders below it as common prefixes",
    capability: 'listDelimiter',
    async run({ store, capabilities }) {
      await writeAll(store, shuffled(TREE));
      const compare = comparator(capabilities);
      const top = await store.list({ delimiter: '/' });
      assert.deepEqual(top.items.map((item) => item.key), ['a.txt', 'e-f', 'pa', 'z'].sort(compare), 'top-level files');
      assert.deepEqual(top.prefixes, ['d/', 'e/', 'p/'].sort(compare), 'top-level folders');
      assert.equal(top.cursor, undefined, 'one page');
      const d = await store.list({ prefix: 'd/', delimiter: '/' });
      assert.deepEqual(d.items.map((item) => item.key), ['d/x']);
      assert.deepEqual(d.prefixes, ['d/y/']);
      const partial = await store.list({ prefix: 'e', delimiter: '/' });
      assert.deepEqual(partial.items.map((item) => item.key), ['e-f'], 'prefix ending inside a segment: files');
      assert.deepEqual(partial.prefixes, ['e/'], 'prefix ending inside a segment: folders');
      const leaf = await store.list({ prefix: 'd/y/', delimiter: '/' });
      assert.deepEqual(leaf.items.map((item) => item.key), ['d/y/z', 'd/y/zz']);
      assert.deepEqual(leaf.prefixes, []);
    },
  },
  {
    id: 'page-sizes',
    name: 'pages of 1, 2, 3 and 1000 give the same sequence as one page, each within its limit',
    capability: 'listDelimiter',
    async run({ store, capabilities }) {
      await writeAll(store, shuffled(TREE));
      const compare = comparator(capabilities);
      const all = TREE.slice().sort(compare);
      for (const limit of [1, 2, 3, 1000]) {
        assert.deepEqual(await listPaged(store, { limit }, compare, true), all, `flat, limit ${limit}`);
      }
      const top = ['a.txt', 'd/', 'e-f', 'e/', 'p/', 'pa', 'z'].sort(compare);
      // Core emulates the delimiter where the backend lacks it, finishing whole backend pages: larger pages are honest there.
      for (const limit of [1, 2, 3, 1000]) {
        assert.deepEqual(await listPaged(store, { limit, delimiter: '/' }, compare, capabilities.listDelimiter), top, `delimiter, limit ${limit}`);
      }
    },
  },
  {
    id: 'cursor',
    name: 'a cursor resumes after the last key returned: later writes after it appear, earlier ones do not',
    async run({ store }) {
      await writeAll(store, ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
      const first = await store.list({ limit: 3 });
      assert.deepEqual(first.items.map((item) => item.key), ['k1', 'k2', 'k3']);
      assert.ok(first.cursor, 'a cursor for the rest');
      await store.write('k2b', 'before the cursor');
      await store.write('k4b', 'after the cursor');
      await store.delete('k5');
      const rest = await store.list({ limit: 1000, cursor: first.cursor });
      assert.deepEqual(rest.items.map((item) => item.key), ['k4', 'k4b', 'k6'], 'resumed after k3');
      assert.equal(rest.cursor, undefined, 'the last page has no cursor');
      const again = await store.list({ limit: 1000, cursor: first.cursor });
      assert.deepEqual(again.items.map((item) => item.key), ['k4', 'k4b', 'k6'], 'a cursor can be used again');
    },
  },
  {
    id: 'cursor-after-folder',
    name: 'a cursor after a common prefix resumes after everything below it',
    capability: 'listDelimiter',
    async run({ store, capabilities }) {
      await writeAll(store, ['a', 'b/1', 'b/2', 'b/3/4', 'c', 'd/5']);
      const compare = comparator(capabilities);
      for (const limit of [1, 2]) {
        assert.deepEqual(await listPaged(store, { delimiter: '/', limit }, compare, capabilities.listDelimiter), ['a', 'b/', 'c', 'd/'], `limit ${limit}`);
      }
    },
  },
  {
    id: 'more-than-one-page',
    name: 'more than 1000 keys list in full over several pages, also folded by the delimiter',
    slow: true,
    async run({ store }) {
      const keys = Array.from({ length: 1001 }, (_, i) => `big/${String(i).padStart(4, '0')}`);
      await inParallel(keys, 16, async (key) => void (await store.write(key, '')));
      await writeAll(store, ['aaa', 'big-after', 'zzz']);
      const first = await store.list();
      assert.equal(first.items.length, 1000, 'the default page holds 1000 entries');
      assert.ok(first.cursor, 'and a cursor');
      const all = (await collect(store.listAll())).map((item) => item.key);
      assert.deepEqual(all, ['aaa', 'big-after', ...keys, 'zzz']);
      for (const limit of [1, 2, 1000]) {
        const seen: string[] = [];
        for await (const page of store.pages({ delimiter: '/', limit })) seen.push(...mergedPage(page, compareUtf8, `limit ${limit}`));
        assert.deepEqual(seen, ['aaa', 'big-after', 'big/', 'zzz'], `the delimiter folds 1001 keys into one prefix, limit ${limit}`);
      }
    },
  },
  {
    id: 'invalid-options',
    name: 'a limit of 0 or 1001, a bad delimiter or a bad cursor is refused with INVALID_ARGUMENT before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      const bad: ListOptions[] = [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { limit: -1 }, { delimiter: '|' as '/' }, { cursor: '' }, { cursor: 42 as unknown as string }];
      for (const options of bad) await rejectsWithCode(store.list(options), 'INVALID_ARGUMENT', `list ${JSON.stringify(options)}`);
      assertNoBackendCalls(calls, 'invalid list options');
    },
  },
  {
    id: 'empty',
    name: 'an empty listing has no items, no prefixes and no cursor',
    async run({ store }) {
      for (const options of [{}, { delimiter: '/' as const }, { prefix: 'nothing/' }, { prefix: 'no', delimiter: '/' as const }]) {
        const page = await store.list(options);
        assert.deepEqual(page.items, [], `${JSON.stringify(options)} items`);
        assert.deepEqual(page.prefixes, [], `${JSON.stringify(options)} prefixes`);
        assert.equal(page.cursor, undefined, `${JSON.stringify(options)} cursor`);
      }
      assert.deepEqual(await collect(store.listAll()), []);
      assert.equal((await collect(store.pages())).length, 1, 'pages yields one empty page');
    },
  },
  {
    id: 'iterators',
    name: 'listAll yields every key at every depth; pages yields pages of the asked size',
    async run({ store, capabilities }) {
      await writeAll(store, shuffled(TREE));
      const compare = comparator(capabilities);
      assert.deepEqual((await collect(store.listAll({ limit: 3 }))).map((item) => item.key), TREE.slice().sort(compare));
      const pages = await collect(store.pages({ limit: 4 }));
      assert.deepEqual(pages.map((page) => page.items.length), [4, 4, 2]);
      assert.deepEqual((await collect(store.listAll({ prefix: 'd/' }))).map((item) => item.key), ['d/x', 'd/y/z', 'd/y/zz']);
    },
  },
  {
    id: 'isolation',
    name: "a store sees only its own keys, relative to its root, never a neighbour's with a similar prefix",
    async run({ store, sibling }) {
      const other = sibling();
      await other.write('theirs.txt', 'x');
      await other.write('d/theirs.txt', 'x');
      await store.write('mine.txt', 'x');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['mine.txt']);
      const top = await store.list({ delimiter: '/' });
      assert.deepEqual(top.prefixes, []);
      assert.equal(await store.exists('theirs.txt'), false);
      assert.deepEqual((await collect(other.listAll())).map((item) => item.key), ['d/theirs.txt', 'theirs.txt']);
    },
  },
  {
    id: 'glob',
    name: 'glob matches **, *, ?, [ab] and escaped characters on whole keys',
    async run({ store }) {
      const keys = ['g/a.txt', 'g/ab.txt', 'g/b.txt', 'g/c.md', 'g/sub/d.txt', 'g/sub/deeper/e.txt', 'g/x[1].txt', 'h/a.txt'];
      await writeAll(store, shuffled(keys));
      const glob = async (pattern: string) => (await collect(store.glob(pattern))).map((item) => item.key);
      assert.deepEqual(await glob('g/*.txt'), ['g/a.txt', 'g/ab.txt', 'g/b.txt', 'g/x[1].txt'], '*');
      assert.deepEqual(await glob('g/**/*.txt'), ['g/a.txt', 'g/ab.txt', 'g/b.txt', 'g/sub/d.txt', 'g/sub/deeper/e.txt', 'g/x[1].txt'], '**/');
      assert.deepEqual(await glob('g/?.txt'), ['g/a.txt', 'g/b.txt'], '?');
      assert.deepEqual(await glob('g/[ab].txt'), ['g/a.txt', 'g/b.txt'], '[ab]');
      assert.deepEqual(await glob('g/[!ab]*'), ['g/c.md', 'g/x[1].txt'], '[!ab]');
      assert.deepEqual(await glob('**/a.txt'), ['g/a.txt', 'h/a.txt'], 'leading **');
      assert.deepEqual(await glob('g/x\\[1\\].txt'), ['g/x[1].txt'], 'escaped [');
      assert.deepEqual(await glob('g/sub/**'), ['g/sub/d.txt', 'g/sub/deeper/e.txt'], 'trailing **');
    },
  },
  {
    id: 'folders',
    name: 'isFolder, listFolders and deleteFolder work on prefixes, and never touch a sibling with a longer name',
    async run({ store, capabilities }) {
      await writeAll(store, ['f/sub/a.txt', 'f/sub/deep/b.txt', 'f/subway.txt', 'f/sub-x/c.txt', 'f/top.txt', 'g/x.txt']);
      assert.equal(await store.isFolder('f/sub'), true, 'f/sub is a folder');
      assert.equal(await store.isFolder('f'), true, 'f is a folder');
      assert.equal(await store.isFolder('f/su'), false, 'a prefix of a folder name is not a folder');
      assert.equal(await store.isFolder('f/top.txt'), false, 'a file is not a folder');
      assert.equal(await store.isFolder('nothing'), false, 'a missing name is not a folder');
      const compare = comparator(capabilities);
      assert.deepEqual(await collect(store.listFolders()), ['f/', 'g/'], 'top-level folders');
      assert.deepEqual(await collect(store.listFolders('f')), ['f/sub-x/', 'f/sub/'].sort(compare), 'folders in f');
      assert.equal(await store.deleteFolder('f/sub'), 2, 'deleteFolder returns how many objects it deleted');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['f/sub-x/c.txt', 'f/subway.txt', 'f/top.txt', 'g/x.txt'].sort(compare));
      assert.equal(await store.isFolder('f/sub'), false, 'an emptied folder is no folder');
      assert.equal(await store.deleteFolder('f/sub'), 0, 'deleting an empty folder deletes nothing');
    },
  },
  {
    id: 'no-empty-folders',
    name: 'a folder whose last object was deleted no longer lists as a common prefix',
    async run({ store }) {
      await writeAll(store, ['gone/only.txt', 'kept/file.txt', 'nested/a/b/c.txt']);
      await store.delete('gone/only.txt');
      await store.delete('nested/a/b/c.txt');
      const top = await store.list({ delimiter: '/' });
      assert.deepEqual(top.prefixes, ['kept/']);
      assert.deepEqual(top.items, []);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['kept/file.txt']);
      assert.deepEqual(await collect(store.listFolders()), ['kept/']);
    },
  },
  {
    id: 'after-write',
    name: 'a listing right after a write shows the new key with its size and etag; after an overwrite, the new ones',
    async run({ store }) {
      const first = await store.write('w/new.txt', 'abc');
      let entries = await collect(store.listAll({ prefix: 'w/' }));
      assert.deepEqual(entries.map((item) => [item.key, item.size, item.etag]), [['w/new.txt', 3, first.etag]]);
      const second = await store.write('w/new.txt', 'abcdef');
      entries = await collect(store.listAll({ prefix: 'w/' }));
      assert.deepEqual(entries.map((item) => [item.key, item.size, item.etag]), [['w/new.txt', 6, second.etag]]);
    },
  },
  {
    id: 'after-delete',
    name: 'a listing right after a delete no longer shows the key',
    async run({ store }) {
      await writeAll(store, ['x/a', 'x/b', 'x/c']);
      await store.delete('x/b');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), ['x/a', 'x/c']);
      await store.deleteMany(['x/a', 'x/c']);
      assert.deepEqual(await collect(store.listAll()), []);
      assert.deepEqual((await store.list({ delimiter: '/' })).prefixes, []);
    },
  },
];

/** The `listing` group. */
export const listingCases: readonly ConformanceCase[] = defineGroup('listing', specs);
