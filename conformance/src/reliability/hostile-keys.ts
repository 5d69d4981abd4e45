/**
 * Hostile keys, property-based: random keys built from the characters that break storage systems
 * (separators, dots, percent-encodings, SQL and glob metacharacters, control characters, lone
 * surrogates, normalization twins, long segments). Each key is either valid and round-trips byte
 * for byte, listing included, or refused with INVALID_PATH, as an oracle written from the key rules
 * (independently of core's own check) says.
 *
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareUtf16, compareUtf8, isStowageError, type Store } from '@stowage/core';
import { collect, describeError, inParallel } from '../assertions.ts';

/** Fragments keys are made of. */
const FRAGMENTS: readonly string[] = [
  'a', 'B', '0', '.', '..', '...', ' ', '+', '%', '%2F', '%2f', '%2e%2e', '%00', '%5C', '*', '**', '?', '[', ']', '[!a]', '{a,b}', '!', '^', '$',
  "'", '"', '`', ';', '--', '/*', '*/', '_', '%_', '\\', '~', '#', '&', '=', ':', '@', '|', '<', '>',
  "' OR '1'='1", 'x); DROP TABLE t; --', 'LIKE', 'ESCAPE', 'é', 'e\u0301', 'Å', '\u212b', 'ß', 'Ａ', '😀', '\u{10ffff}', '\uffff', '\ufeff', '\u200b', '\u2028',
  '\u0000', '\u0007', '\u001f', '\u007f', '\u0085', '\u009f', '\u00a0', '\ud800', '\udfff', 'CON', 'nul', 'a'.repeat(120), 'é'.repeat(70), '😀'.repeat(40),
];

/** A random key: one to four segments of fragments and random characters, sometimes with a stray slash. */
export function hostileKey(): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...FRAGMENTS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }) },
  );
  const segment = fc.array(piece, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(''));
  return fc
    .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '', '', '/', '//'), fc.constantFrom('', '', '', '/'))
    .map(([segments, inner, edge]) => {
      const key = segments.join('/');
      if (inner === '//') return key.replace('/', '//');
      return edge === '/' ? (segments.length % 2 ? `/${key}` : `${key}/`) : key;
    });
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Whether `key` is valid under a store rooted at `root` (`''` or ending with `/`), by the rules of
 * the design: non-empty, `/`-separated, no empty, `.` or `..` segment, no backslash, no C0 or C1
 * control character (DEL included), no lone surrogate, at most 1024 bytes with the root and 255 per
 * segment.
 */
export function keyIsValid(key: string, root = ''): boolean {
  if (key === '') return false;
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(key)) return false;
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(key)) return false;
  if (utf8Bytes(root + key) > 1024) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && utf8Bytes(segment) <= 255);
}

/** Options of {@link checkHostileKeys}. */
export interface HostileKeyOptions {
  /** Keys per run (default 10 000). */
  count?: number | undefined;
  /** Keys per batch (default 100): written at once, then listed and deleted together. */
  batchSize?: number | undefined;
  /** Writes in flight (default 8). */
  concurrency?: number | undefined;
  /** Stop starting batches after this many milliseconds (default 60 000); the keys checked so far stand. */
  timeLimitMs?: number | undefined;
  /** The fast-check seed (default `STOWAGE_TEST_SEED`, else 20261201); a failure prints it with the path to replay. */
  seed?: number | undefined;
  /**
   * The server lists in another order than the backend declares (an emulator's gap, with its
   * reason): listings are then compared as sets, and the order is left to the conformance suite's
   * declared override.
   */
  listingOrderGap?: string | undefined;
  /**
   * Keys a server cannot take (an emulator's gap, with its reason): generated keys that match are
   * left out, and the title of the check says which and why.
   */
  excludedKeys?: { pattern: RegExp; reason: string } | undefined;
}

/** What a run checked. */
export interface HostileKeyReport {
  seed: number;
  keys: number;
  valid: number;
  invalid: number;
}

/** Runs the property on `store` (a fresh, empty root of its own). */
export async function checkHostileKeys(store: Store, options: HostileKeyOptions = {}): Promise<HostileKeyReport> {
  const count = options.count ?? 10_000;
  const batchSize = options.batchSize ?? 100;
  const seed = options.seed ?? (Number(process.env.STOWAGE_TEST_SEED) || 20261201);
  const compare = store.capabilities.listOrder === 'utf16' ? compareUtf16 : compareUtf8;
  const report: HostileKeyReport = { seed, keys: 0, valid: 0, invalid: 0 };
  let batchNumber = 0;
  const property = fc.asyncProperty(fc.array(hostileKey(), { minLength: batchSize, maxLength: batchSize }), async (keys) => {
    const folder = `b${batchNumber++}`;
    const written: string[] = [];
    const excluded = options.excludedKeys?.pattern;
    await inParallel(keys, options.concurrency ?? 8, async (raw, index) => {
      if (excluded?.test(raw)) return;
      const key = `${folder}/k${index}/${raw}`;
      const body = new TextEncoder().encode(`${index}:${raw}`.replace(/[\ud800-\udfff]/g, '?'));
      if (!keyIsValid(key, store.root)) {
        try {
          await store.write(key, body);
        } catch (error) {
          if (isStowageError(error, 'INVALID_PATH')) return;
          throw new Error(`${JSON.stringify(key)} breaks the key rules: expected INVALID_PATH, got ${describeError(error)}`);
        }
        throw new Error(`${JSON.stringify(key)} breaks the key rules but was stored`);
      }
      try {
        await store.write(key, body);
      } catch (error) {
        throw new Error(`${JSON.stringify(key)} is a valid key but its write failed: ${describeError(error)}`);
      }
      const back = await store.readBytes(key);
      assert.deepEqual(Buffer.from(back), Buffer.from(body), `${JSON.stringify(key)} round-trips byte for byte`);
      const info = await store.stat(key);
      assert.equal(info.key, key, `stat returns the key ${JSON.stringify(key)} unchanged`);
      written.push(key);
    });
    const listed = (await collect(store.listAll({ prefix: `${folder}/` }))).map((entry) => entry.key);
    const expected = written.slice().sort(compare);
    if (options.listingOrderGap !== undefined) listed.sort(compare);
    assert.deepEqual(listed, expected, `the batch lists exactly its valid keys, in ${store.capabilities.listOrder} order`);
    await store.deleteMany(written);
    report.keys += keys.length;
    report.valid += written.length;
    report.invalid += keys.length - written.length;
  });
  await fc.assert(property, {
    seed,
    numRuns: Math.ceil(count / batchSize),
    interruptAfterTimeLimit: options.timeLimitMs ?? 60_000,
    markInterruptAsFailure: false,
    endOnFailure: true,
  });
  return report;
}

/** Keys and prefixes with SQL LIKE, GLOB and regex metacharacters: each prefix lists exactly the keys that start with it. */
export const METACHARACTER_KEYS: readonly string[] = [
  'a', 'a%b', 'a_b', 'a*b', 'a?b', 'a[b]', 'a[!b]', 'a{b}', "a'b", 'a"b', 'a;b', 'a--b', 'a\u00e9', 'ab', 'a.b', 'a+b', 'a^b', 'a$b', 'a|b', 'a(b)',
  '%', '%x', '_', '_x', '*', '*x', '?', '[', ']', "'", 'x%', 'x_', 'x', 'xx', '~', 'a/%', 'a/_', 'a/b', 'a%/c', 'a_/c',
];

/** Writes {@link METACHARACTER_KEYS} and checks that every one of them, and each of its shorter starts, as a prefix lists exactly the keys that start with it. */
export async function checkMetacharacterListing(store: Store): Promise<void> {
  const compare = store.capabilities.listOrder === 'utf16' ? compareUtf16 : compareUtf8;
  const keys = METACHARACTER_KEYS.filter((key) => !(store.capabilities.hierarchical && METACHARACTER_KEYS.some((other) => other.startsWith(`${key}/`))));
  await inParallel(keys, 8, async (key) => void (await store.write(key, key)));
  const prefixes = new Set<string>(['']);
  for (const key of keys) for (let end = 1; end <= key.length; end++) prefixes.add(key.slice(0, end));
  for (const prefix of prefixes) {
    const listed = (await collect(store.listAll({ prefix }))).map((entry) => entry.key);
    assert.deepEqual(listed, keys.filter((key) => key.startsWith(prefix)).sort(compare), `prefix ${JSON.stringify(prefix)} lists exactly the keys that start with it`);
  }
  for (const key of keys) assert.equal(await store.readText(key), key, `${JSON.stringify(key)} reads back its own content`);
  const globbed = (await collect(store.glob('a[*]b'))).map((entry) => entry.key);
  assert.deepEqual(globbed, ['a*b'], 'a glob class matches the literal metacharacter only');
}
