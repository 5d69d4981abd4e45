import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, compileGlob } from '@stowage/core';

describe('glob', () => {
  const cases: [string, string, string[], string[]][] = [
    ['*.txt', '', ['a.txt', '.txt'], ['a/b.txt', 'a.txt.gz']],
    ['logs/2026-*.log', 'logs/2026-', ['logs/2026-01.log'], ['logs/2025-01.log', 'logs/2026-01/x.log']],
    ['**/*.png', '', ['a.png', 'x/y/z.png'], ['a.jpg']],
    ['a/**', 'a/', ['a/b', 'a/b/c'], ['ab', 'b/a']],
    ['a/**/b', 'a/', ['a/b', 'a/x/b', 'a/x/y/b'], ['a/xb', 'b']],
    ['file?.bin', 'file', ['file1.bin', 'fileé.bin'], ['file.bin', 'file12.bin', 'file/.bin']],
    ['[ab]*', '', ['a', 'b1'], ['c', 'A']],
    ['[!ab]x', '', ['cx', 'Zx'], ['ax', '/x']],
    ['[a-c]?', '', ['bz'], ['dz']],
    ['\\*literal', '*literal', ['*literal'], ['xliteral']],
    ['100%+.txt', '100%+.txt', ['100%+.txt'], ['100%.txt']],
  ];
  it.each(cases)('%s', (pattern, prefix, matches, misses) => {
    const glob = compileGlob(pattern);
    expect(glob.prefix).toBe(prefix);
    for (const key of matches) expect(glob.test(key), key).toBe(true);
    for (const key of misses) expect(glob.test(key), key).toBe(false);
  });
  it('rejects broken patterns', () => {
    expect(() => compileGlob('[abc')).toThrow(InvalidArgumentError);
    expect(() => compileGlob('a\\')).toThrow(InvalidArgumentError);
    expect(() => compileGlob('')).toThrow(InvalidArgumentError);
  });
});
