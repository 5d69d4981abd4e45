/**
 * Keys: the same key means the same object on every backend. Valid keys round-trip byte-exactly and
 * list in the declared order; invalid keys are refused with `INVALID_PATH` before any I/O.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { compareUtf16, compareUtf8, type Store } from '@stowage/core';
import { assertNoBackendCalls, collect, rejectsWithCode } from '../assertions.ts';
import type { CaseContext, ConformanceCase } from '../types.ts';
import { defineGroup, shuffled, type CaseSpec } from './define.ts';

/** A key of exactly `bytes` ASCII bytes, in segments short enough for every backend. */
export function keyOfBytes(bytes: number): string {
  const parts: string[] = [];
  let remaining = bytes;
  while (remaining > 201) {
    parts.push('k'.repeat(200));
    remaining -= 201;
  }
  parts.push('z'.repeat(remaining));
  return parts.join('/');
}

function rootBytes(store: Store): number {
  return Buffer.byteLength(store.root);
}

/** Valid keys that must round-trip unchanged. A function computes the key from the case's store. */
const VALID_KEYS: readonly [label: string, key: string | ((store: Store) => string), why: string][] = [
  ['plain', 'plain.txt', 'a plain key'],
  ['spaces', 'with space and  two spaces.txt', 'spaces, single and doubled'],
  ['percent', 'percent%20and%.txt', 'percent signs (never URL-decoded)'],
  ['plus', 'a+b=c&d.txt', 'plus (never turned into a space), equals and ampersand'],
  ['underscore', '_under_score_', 'underscores'],
  ['star', 'star*.txt', 'an asterisk'],
  ['quote', "it's \"quoted\".txt", 'single and double quotes'],
  ['bracket', 'bracket[1].txt', 'square brackets'],
  ['question', 'question?.txt', 'a question mark (never taken for a query string)'],
  ['punctuation', 'punct !#$()+,;=@^`{}~:|<>.txt', 'the rest of ASCII punctuation'],
  ['unicode', 'unicode/Zoë ✓ 日本.txt', 'non-ASCII characters'],
  ['astral', 'emoji/😀🚀.txt', 'characters above U+FFFF'],
  ['private-use', 'private-\uE000\uFFFD.txt', 'characters in U+E000–U+FFFF'],
  ['dot-names', '.hidden/..x/y.', 'segments that start or end with dots but are not . or ..'],
  ['deep', `${Array.from({ length: 20 }, (_, i) => `d${i}`).join('/')}/leaf.txt`, 'twenty folders deep'],
  ['segment-255-ascii', `seg/${'a'.repeat(255)}`, 'a 255-byte segment'],
  ['segment-255-multibyte', `seg/${'日'.repeat(85)}`, 'a 255-byte segment of 85 three-byte characters'],
  ['key-1024', (store) => keyOfBytes(1024 - rootBytes(store)), 'a key of exactly 1024 bytes, the store root included'],
];

function validKeyCase(label: string, key: string | ((store: Store) => string), why: string): CaseSpec {
  return {
    id: `valid/${label}`,
    name: `a valid key (${why}) round-trips and lists unchanged`,
    async run({ store }) {
      const k = typeof key === 'function' ? key(store) : key;
      const content = `content of ${k}`;
      const written = await store.write(k, content);
      assert.equal(written.key, k, 'write returns the key as given');
      assert.equal(await store.readText(k), content, 'read returns the content');
      assert.equal((await store.stat(k)).key, k, 'stat returns the key as given');
      assert.equal(await store.exists(k), true, 'exists');
      assert.deepEqual((await store.list({ prefix: k })).items.map((item) => item.key), [k], 'a listing with the key as prefix returns it exactly');
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), [k], 'a full listing returns the key exactly, and nothing else');
      await store.delete(k);
      assert.equal(await store.exists(k), false, 'gone after delete');
    },
  };
}

/** Keys the rules reject, with what is wrong. */
const INVALID_KEYS: readonly [label: string, key: unknown][] = [
  ['leading-slash', '/a.txt'],
  ['trailing-slash', 'a/'],
  ['only-slash', '/'],
  ['empty-segment', 'a//b'],
  ['dot', '.'],
  ['dot-dot', '..'],
  ['dot-segment', 'a/./b'],
  ['dot-dot-segment', 'a/../b'],
  ['dot-dot-escape', '../outside.txt'],
  ['backslash', 'a\\b'],
  ['nul', 'a\0b'],
  ['control-u0001', 'a\u0001b'],
  ['control-newline', 'a\nb'],
  ['control-u007f', 'a\u007fb'],
  ['control-u0085', 'a\u0085b'],
  ['lone-high-surrogate', 'a\uD800b'],
  ['lone-low-surrogate', 'a\uDC00b'],
  ['empty', ''],
  ['key-1025', keyOfBytes(1025)],
  ['segment-256', `seg/${'é'.repeat(128)}`],
  ['not-a-string', 42],
];

function invalidKeyCase(label: string, key: unknown): CaseSpec {
  return {
    id: `invalid/${label}`,
    name: `the key ${label.replaceAll('-', ' ')} is refused with INVALID_PATH before any I/O`,
    async run(context) {
      await expectInvalidEverywhere(context, key as string);
    },
  };
}

/** Every operation that takes a key refuses `bad` with `INVALID_PATH`, and the backend sees nothing. */
async function expectInvalidEverywhere(context: CaseContext, bad: string): Promise<void> {
  const { store, calls } = context.recording();
  const operations: [string, () => Promise<unknown>][] = [
    ['write', () => store.write(bad, 'x')],
    ['stat', () => store.stat(bad)],
    ['exists', () => store.exists(bad)],
    ['readBytes', () => store.readBytes(bad)],
    ['get', () => store.get(bad)],
    ['delete', () => store.delete(bad)],
    ['deleteMany with one bad key', () => store.deleteMany(['fine.txt', bad])],
    ['copy from', () => store.copy(bad, 'fine.txt')],
    ['copy to', () => store.copy('fine.txt', bad)],
    ['move from', () => store.move(bad, 'fine.txt')],
    ['move to', () => store.move('fine.txt', bad)],
    ['isFolder', () => store.isFolder(bad)],
    ['deleteFolder', () => store.deleteFolder(bad)],
  ];
  for (const [what, operation] of operations) await rejectsWithCode(operation, 'INVALID_PATH', what);
  assertNoBackendCalls(calls, 'invalid keys');
}

/** Keys whose order differs between naive implementations: folder vs `-`/`.`/`0`, case, Unicode, UTF-16 vs UTF-8. */
const ORDER_KEYS: readonly string[] = [
  'A',
  'Z',
  '_u',
  'a b',
  'a!',
  'a+',
  'a-b',
  'a.b',
  'a/b',
  'a/c/d',
  'a0',
  'aa',
  'z~',
  '\u00e9',
  '\u00ff',
  '\u0100',
  '日本',
  '\uE000',
  '\uFF01',
  '😀',
  '\u{10FFFD}',
];

const specs: CaseSpec[] = [
  ...VALID_KEYS.map(([label, key, why]) => validKeyCase(label, key, why)),
  {
    id: 'distinct/normalization',
    name: 'an NFC key and its NFD twin are two distinct objects',
    async run({ store }) {
      const nfc = 'caf\u00e9.txt';
      const nfd = 'cafe\u0301.txt';
      await store.write(nfc, 'composed');
      await store.write(nfd, 'decomposed!');
      assert.equal(await store.readText(nfc), 'composed');
      assert.equal(await store.readText(nfd), 'decomposed!');
      assert.equal((await store.stat(nfd)).size, 11);
      const keys = (await collect(store.listAll())).map((item) => item.key);
      assert.deepEqual(keys, [nfd, nfc].sort(compareUtf8), 'both keys list, byte-exact');
      await store.delete(nfc);
      assert.equal(await store.readText(nfd), 'decomposed!', 'deleting the NFC key leaves the NFD key');
    },
  },
  {
    id: 'distinct/case',
    name: 'keys that differ only in case are distinct objects',
    async run({ store }) {
      const keys = ['Report.TXT', 'report.txt', 'REPORT.txt'];
      for (const [i, key] of keys.entries()) await store.write(key, `v${i}`);
      for (const [i, key] of keys.entries()) assert.equal(await store.readText(key), `v${i}`, key);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), keys.slice().sort(compareUtf8));
    },
  },
  {
    id: 'distinct/whitespace',
    name: 'leading and trailing spaces are part of the key',
    async run({ store }) {
      const keys = ['name', 'name ', ' name', 'dir /x', 'dir/x'];
      for (const [i, key] of keys.entries()) await store.write(key, `v${i}`);
      for (const [i, key] of keys.entries()) assert.equal(await store.readText(key), `v${i}`, JSON.stringify(key));
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), keys.slice().sort(compareUtf8));
    },
  },
  {
    id: 'list-order',
    name: 'keys list in the declared order (UTF-8 bytes, or UTF-16 code units where declared), whatever order they were written in',
    capability: 'listOrder',
    async run({ store, capabilities }) {
      for (const key of shuffled(ORDER_KEYS)) await store.write(key, key);
      const compare = capabilities.listOrder === 'utf16' ? compareUtf16 : compareUtf8;
      const expected = ORDER_KEYS.slice().sort(compare);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), expected, `one listing, ${capabilities.listOrder} order`);
      const paged: string[] = [];
      for await (const page of store.pages({ limit: 2 })) paged.push(...page.items.map((item) => item.key));
      assert.deepEqual(paged, expected, 'pages of 2 give the same order');
    },
  },
  ...INVALID_KEYS.map(([label, key]) => invalidKeyCase(label, key)),
  {
    id: 'invalid/too-long-with-root',
    name: 'a key that is valid alone but longer than 1024 bytes with the store root is refused with INVALID_PATH',
    async run(context) {
      const key = keyOfBytes(1025 - rootBytes(context.store));
      await expectInvalidEverywhere(context, key);
    },
  },
  {
    id: 'reserved/refused',
    name: 'where reservedSegments is declared, a key, prefix or root with a reserved segment at any depth and in any case is refused with INVALID_PATH before any I/O',
    capability: 'reservedSegments',
    requires: 'declared',
    async run(context) {
      for (const reserved of context.capabilities.reservedSegments ?? []) {
        const upper = reserved.toUpperCase();
        for (const key of [reserved, `${reserved}/x`, `a/${reserved}`, `a/${reserved}/meta/x.json`, `a/b/${reserved}/locks/planted.lock`, `a/${upper}/x`]) {
          await expectInvalidEverywhere(context, key);
        }
        const { store, calls } = context.recording();
        for (const prefix of [`${reserved}/`, `a/${reserved}/`, `a/${reserved}/meta`, `a/${upper}/`]) {
          await rejectsWithCode(store.list({ prefix }), 'INVALID_PATH', `list prefix ${JSON.stringify(prefix)}`);
        }
        assert.throws(() => store.at(`a/${reserved}`), (error: { code?: string }) => error.code === 'INVALID_PATH', 'a root with a reserved segment');
        assertNoBackendCalls(calls, 'reserved segments');
        // Only whole segments are reserved: longer names, and prefixes that stop inside one, are ordinary.
        for (const key of [`a/${reserved}x`, `a/x${reserved}`, `${reserved}-not/x`]) {
          await context.store.write(key, key);
          assert.equal(await context.store.readText(key), key, key);
        }
        assert.deepEqual((await collect(context.store.listAll({ prefix: `a/${reserved}` }))).map((item) => item.key), [`a/${reserved}x`], 'a prefix ending inside the reserved name');
      }
    },
  },
  {
    id: 'reserved/none',
    name: 'where no reservedSegments are declared, a segment another backend reserves (.stowage) is an ordinary key segment at any depth',
    capability: 'reservedSegments',
    requires: 'undeclared',
    async run({ store }) {
      const keys = ['.stowage', 'a/.stowage/meta/x.json', 'b/.STOWAGE'];
      for (const key of keys) await store.write(key, key);
      for (const key of keys) assert.equal(await store.readText(key), key, key);
      assert.deepEqual((await collect(store.listAll())).map((item) => item.key), keys.slice().sort(compareUtf8));
    },
  },
  {
    id: 'invalid/prefix',
    name: 'listing prefixes that break the key rules are refused with INVALID_PATH before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      for (const prefix of ['/a', 'a//', 'a\\b', 'a/../', './x', 'a\0', 'a\uD800']) {
        await rejectsWithCode(store.list({ prefix }), 'INVALID_PATH', `list prefix ${JSON.stringify(prefix)}`);
        await rejectsWithCode(collect(store.listAll({ prefix })), 'INVALID_PATH', `listAll prefix ${JSON.stringify(prefix)}`);
      }
      assertNoBackendCalls(calls, 'invalid prefixes');
    },
  },
];

/** The `keys` group. */
export const keysCases: readonly ConformanceCase[] = defineGroup('keys', specs);
