import { describe, expect, it } from 'vitest';
import { InvalidPathError, assertValidKey, assertValidPrefix, compareUtf8, compareUtf16, isValidKey, keyProblem, normalizeRoot } from '@stowage/core';

describe('key rules', () => {
  const valid = [
    'a',
    'a/b/c.txt',
    'with space.txt',
    '100%+_*\'[?]!.txt',
    'café/naïve', // NFC
    'cafe\u0301', // NFD
    '😀/Ａ',
    '.hidden',
    '..dots',
    'a.',
    '...',
    'a/.../b',
    '. /.x/x.',
    'x'.repeat(255),
    `${'a/'.repeat(511)}b`, // 1023 bytes
    `${'x'.repeat(255)}/${'y'.repeat(255)}/${'z'.repeat(255)}/${'w'.repeat(250)}/abcde`, // exactly 1024 bytes
  ];
  it.each(valid)('accepts %j', (key) => {
    expect(keyProblem(key)).toBeUndefined();
    expect(isValidKey(key)).toBe(true);
  });

  const invalid: [string, unknown][] = [
    ['empty', ''],
    ['leading slash', '/a'],
    ['trailing slash', 'a/'],
    ['empty segment', 'a//b'],
    ['dot segment', 'a/./b'],
    ['dot-dot segment', 'a/../b'],
    ['lone dot-dot', '..'],
    ['lone dot', '.'],
    ['last dot', 'a/.'],
    ['last dot-dot', 'a/..'],
    ['first dot-dot', '../a'],
    ['tab', 'a\tb'],
    ['unit separator', 'a\u001fb'],
    ['backslash', 'a\\b'],
    ['NUL', 'a\u0000b'],
    ['C0 control', 'a\u0001b'],
    ['DEL', 'a\u007fb'],
    ['C1 control', 'a\u0085b'],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate', 'a\udc00'],
    ['too long', 'a'.repeat(1025)],
    ['multi-byte too long', 'é'.repeat(513)],
    ['segment too long', 'x'.repeat(256)],
    ['not a string', 42],
    ['null', null],
  ];
  it.each(invalid)('rejects %s', (_, key) => {
    expect(keyProblem(key)).toBeTypeOf('string');
    expect(() => assertValidKey(key)).toThrow(InvalidPathError);
  });

  it('judges every short key of slashes, dots, letters and forbidden characters as the rules say', () => {
    // Exhaustive over a small alphabet: the one-pass check of plain keys must agree with the rules.
    const alphabet = ['a', '.', '/', '\\', '\u007f', '\u001f', ' ', 'é'];
    const expected = (key: string): boolean =>
      key !== '' &&
      !/[\u0000-\u001f\u007f-\u009f\\]/.test(key) &&
      key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
    let keys = [''];
    for (let length = 1; length <= 5; length++) {
      keys = keys.flatMap((key) => alphabet.map((c) => key + c));
      for (const key of keys) if (isValidKey(key) !== expected(key)) expect.fail(`isValidKey(${JSON.stringify(key)}) should be ${expected(key)}`);
    }
  });

  it('checks prefixes, which may end with a slash or inside a segment', () => {
    for (const prefix of ['', 'a', 'a/', 'a/b', 'a/.', 'a/..x']) expect(() => assertValidPrefix(prefix)).not.toThrow();
    for (const prefix of ['/a', 'a//', 'a/../', '../', 'a\\', 'a\u0000']) expect(() => assertValidPrefix(prefix)).toThrow(InvalidPathError);
  });

  it('normalizes roots to a folder prefix', () => {
    expect(normalizeRoot(undefined)).toBe('');
    expect(normalizeRoot('tenant')).toBe('tenant/');
    expect(normalizeRoot('a/b/')).toBe('a/b/');
    expect(() => normalizeRoot('/abs')).toThrow(InvalidPathError);
    expect(() => normalizeRoot('a/../b')).toThrow(InvalidPathError);
  });
});

describe('orders', () => {
  const keys = ['A', 'a', 'a b.txt', 'a-b', 'a.b', 'a/b/c', 'a0', 'aa', 'z', '~', 'é', 'Ａ', '😀'];
  it('sorts by UTF-8 bytes', () => {
    const shuffled = [...keys].reverse();
    expect(shuffled.sort(compareUtf8)).toEqual(keys);
    // equals a sort of the encoded bytes
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(byBytes).toEqual(keys);
  });
  it('sorts by UTF-16 code units for Azure', () => {
    const sorted = [...keys].sort(compareUtf16);
    expect(sorted.indexOf('😀')).toBeLessThan(sorted.indexOf('Ａ'));
  });
});
