/**
 * Key rules: the same key means the same object on every backend. Keys are checked, never rewritten.
 *
 * A key is a non-empty UTF-8 string of `/`-separated segments, at most {@link MAX_KEY_BYTES} bytes,
 * each segment at most {@link MAX_SEGMENT_BYTES} bytes. Rejected: a leading or trailing `/`, empty
 * segments, `.` and `..` segments, `\`, NUL and other C0/C1 control characters, lone surrogates.
 *
 * @module
 */
import { InvalidPathError } from './errors.ts';

/** The longest key, in UTF-8 bytes (the store's root included). */
export const MAX_KEY_BYTES = 1024;
/** The longest segment between two `/`, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255;

const encoder = new TextEncoder();

/** UTF-8 length of a string without allocating (valid for strings without lone surrogates). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Returns why `text` is not usable inside a key, or undefined. Checks characters only. */
function characterProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return 'contains NUL';
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return `contains the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
    if (c === 0x5c) return 'contains a backslash';
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return 'contains a lone surrogate';
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return 'contains a lone surrogate';
  }
  return undefined;
}

function segmentProblem(segment: string, last: boolean): string | undefined {
  if (segment === '') return last ? 'ends with "/"' : 'has an empty segment';
  if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  if (utf8Length(segment) > MAX_SEGMENT_BYTES) return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

/**
 * Whether `key` is a valid key made of printable ASCII only, in one pass and without splitting it:
 * the common case. False means "look closer" (other characters, or a problem), not "invalid".
 */
function isPlainValidKey(key: string): boolean {
  const length = key.length;
  if (length === 0 || length > MAX_KEY_BYTES) return false;
  let start = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 0x2f : key.charCodeAt(i);
    if (c === 0x2f) {
      const size = i - start;
      if (size === 0 || size > MAX_SEGMENT_BYTES) return false;
      if (size <= 2 && key.charCodeAt(start) === 0x2e && (size === 1 || key.charCodeAt(start + 1) === 0x2e)) return false;
      start = i + 1;
    } else if (c < 0x20 || c >= 0x7f || c === 0x5c) return false;
  }
  return true;
}

/** Why `key` is not a valid key, or undefined when it is. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key === 'string' && isPlainValidKey(key)) return undefined;
  if (typeof key !== 'string') return `must be a string, got ${key === null ? 'null' : typeof key}`;
  if (key === '') return 'is empty';
  const chars = characterProblem(key);
  if (chars) return chars;
  if (key.startsWith('/')) return 'starts with "/"';
  if (utf8Length(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  const segments = key.split('/');
  for (let i = 0; i < segments.length; i++) {
    const problem = segmentProblem(segments[i]!, i === segments.length - 1);
    if (problem) return problem;
  }
  return undefined;
}

/** Throws `InvalidPathError` unless `key` is a valid key. */
export function assertValidKey(key: unknown, what = 'key'): asserts key is string {
  const problem = keyProblem(key);
  if (problem) {
    throw new InvalidPathError(`invalid ${what} ${typeof key === 'string' ? describe(key) : ''}: ${problem}`.replace('  ', ' '), {
      key: typeof key === 'string' ? key : undefined,
    });
  }
}

/** Whether `key` is a valid key. */
export function isValidKey(key: unknown): key is string {
  return keyProblem(key) === undefined;
}

/**
 * Throws `InvalidPathError` unless `prefix` is a valid listing prefix: empty, or the start of a
 * valid key (its last segment may be partial, and it may end with `/`).
 */
export function assertValidPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw new InvalidPathError(`invalid prefix: must be a string, got ${typeof prefix}`);
  if (prefix === '') return;
  const chars = characterProblem(prefix);
  let problem = chars;
  if (!problem && prefix.startsWith('/')) problem = 'starts with "/"';
  if (!problem && utf8Length(prefix) > MAX_KEY_BYTES) problem = `is longer than ${MAX_KEY_BYTES} bytes`;
  if (!problem) {
    const segments = prefix.split('/');
    // Every segment but the last is complete; the last may be empty (prefix ends with '/') or partial.
    for (let i = 0; i < segments.length - 1; i++) {
      problem = segmentProblem(segments[i]!, false);
      if (problem) break;
    }
    const last = segments[segments.length - 1]!;
    if (!problem && utf8Length(last) > MAX_SEGMENT_BYTES) problem = `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  if (problem) throw new InvalidPathError(`invalid prefix ${describe(prefix)}: ${problem}`, { key: prefix });
}

/**
 * The reserved segments of a backend (its `reservedSegments` capability), as {@link reservedProblem}
 * takes them: lowercased, since a case-insensitive filesystem finds `.stowage` under `.STOWAGE` too.
 */
export function reservedSegmentSet(segments: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((segments ?? []).map((segment) => segment.toLowerCase()));
}

/**
 * Why `path` (a key, or with `partialLast` a listing prefix whose last segment may be cut short)
 * names a reserved segment, or undefined. `reserved` comes from {@link reservedSegmentSet}.
 */
export function reservedProblem(path: string, reserved: ReadonlySet<string>, partialLast = false): string | undefined {
  if (reserved.size === 0) return undefined;
  const segments = path.split('/');
  if (partialLast) segments.pop();
  const found = segments.find((segment) => reserved.has(segment.toLowerCase()));
  return found === undefined ? undefined : `has the segment ${JSON.stringify(found)}, which the backend reserves for its own files`;
}

/** Throws `InvalidPathError` when `path` names a reserved segment (see {@link reservedProblem}). */
export function assertNotReserved(path: string, reserved: ReadonlySet<string>, what = 'key', partialLast = false): void {
  const problem = reservedProblem(path, reserved, partialLast);
  if (problem) throw new InvalidPathError(`invalid ${what} ${describe(path)}: ${problem}`, { key: path });
}

/**
 * Normalizes a store root to `''` or a valid folder prefix ending with `/`. `'a/b'` and `'a/b/'` are
 * the same root.
 */
export function normalizeRoot(root: unknown): string {
  if (root === undefined || root === '') return '';
  if (typeof root !== 'string') throw new InvalidPathError(`invalid root: must be a string, got ${typeof root}`);
  const trimmed = root.endsWith('/') ? root.slice(0, -1) : root;
  const problem = keyProblem(trimmed);
  if (problem) throw new InvalidPathError(`invalid root ${describe(root)}: ${problem}`, { key: root });
  return `${trimmed}/`;
}

/** Compares two strings by their UTF-8 bytes (the listing order of every backend but Azure). */
export function compareUtf8(a: string, b: string): number {
  // Comparing by code point equals comparing UTF-8 bytes; JS compares UTF-16 code units, which
  // differs only between U+E000..U+FFFF and astral characters, so walk code points.
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x - y;
    return xs ? 1 : -1;
  }
  return a.length - b.length;
}

/** Compares two strings by UTF-16 code units (Azure Blob's listing order). */
export function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
