/**
 * Bun's readdir ignores `withFileTypes` beside a buffer encoding and returns bare names (no
 * Dirent): listing still works, asking each entry's type, as on a filesystem that reports DT_UNKNOWN.
 */
import { describe, expect, it, vi } from 'vitest';
import { useTestRoot } from './helpers.ts';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const readdir = async (path: string, options?: { withFileTypes?: boolean; encoding?: string }) => {
    if (options?.withFileTypes && options.encoding === 'buffer') return await actual.readdir(path, { encoding: 'buffer' });
    return await actual.readdir(path, options as never);
  };
  return { ...actual, readdir, default: { ...actual, readdir } };
});

const context = useTestRoot();

describe('listing where readdir returns bare names (Bun)', () => {
  it('lists objects and folders', async () => {
    const { store } = context;
    await store.write('a.txt', 'a');
    await store.write('b/c.txt', 'c');
    await store.write('b/d/e.txt', 'e');
    const keys: string[] = [];
    for await (const entry of store.listAll()) keys.push(entry.key);
    expect(keys).toEqual(['a.txt', 'b/c.txt', 'b/d/e.txt']);
  });
});
