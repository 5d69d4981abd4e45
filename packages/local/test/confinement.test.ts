/**
 * Nothing outside the root is ever reached: not through `..`, not through a symbolic link planted
 * inside the root (to a file or a directory, outside or inside), not through special files.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectCode, useTestRoot } from './helpers.ts';

const context = useTestRoot();

async function keys(prefix = '', delimiter?: '/'): Promise<string[]> {
  const out: string[] = [];
  for await (const page of context.store.pages({ prefix, delimiter })) out.push(...page.items.map((item) => item.key), ...page.prefixes);
  return out;
}

describe('keys that try to leave the root', () => {
  it('are refused by Store with INVALID_PATH before reaching the backend', async () => {
    const { store, outside } = context;
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'secret');
    for (const key of ['../outside/secret', 'a/../../outside/secret', '/etc/passwd', './x', 'a/./b', 'a\\..\\b', '..']) {
      await expectCode(store.write(key, 'x'), 'INVALID_PATH');
      await expectCode(store.read(key), 'INVALID_PATH');
      await expectCode(store.delete(key), 'INVALID_PATH');
    }
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('secret');
  });
});

describe('a symbolic link to a file outside the root', () => {
  beforeEach(async () => {
    const { root, outside, store } = context;
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await store.write('ok.txt', 'fine');
    await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
    await mkdir(join(root, 'sub'));
    await symlink(join(outside, 'secret.txt'), join(root, 'sub', 'deep-link.txt'));
  });

  it('cannot be read or stat-ed', async () => {
    const { store } = context;
    for (const key of ['link.txt', 'sub/deep-link.txt']) {
      const error = await expectCode(store.read(key), 'PERMISSION_DENIED');
      expect(error.message).toMatch(/symbolic link/);
      await expectCode(store.stat(key), 'PERMISSION_DENIED');
      await expectCode(store.readText(key, { range: { offset: 1, length: 2 } }), 'PERMISSION_DENIED');
      await expectCode(store.copy(key, 'copied.txt'), 'PERMISSION_DENIED');
      await expectCode(store.move(key, 'moved.txt'), 'PERMISSION_DENIED');
    }
    expect(await store.exists('copied.txt')).toBe(false);
    expect(await store.exists('moved.txt')).toBe(false);
  });

  it('cannot be written through, copied or moved onto', async () => {
    const { store, outside } = context;
    for (const key of ['link.txt', 'sub/deep-link.txt']) {
      await expectCode(store.write(key, 'overwritten'), 'PERMISSION_DENIED');
      await expectCode(store.write(key, 'overwritten', { ifNoneMatch: '*' }), 'PERMISSION_DENIED');
      await expectCode(store.copy('ok.txt', key), 'PERMISSION_DENIED');
      await expectCode(store.move('ok.txt', key), 'PERMISSION_DENIED');
    }
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(await store.readText('ok.txt')).toBe('fine');
  });

  it('cannot be deleted through, and stays out of listings', async () => {
    const { store, root, outside } = context;
    await expectCode(store.delete('link.txt'), 'PERMISSION_DENIED');
    await expectCode(store.deleteMany(['sub/deep-link.txt']), 'PERMISSION_DENIED');
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(await readdir(root)).toContain('link.txt');
    expect(await keys()).toEqual(['ok.txt']);
    expect(await keys('', '/')).toEqual(['ok.txt']);
    expect(await keys('li')).toEqual([]);
    expect(await keys('sub/')).toEqual([]);
  });
});

describe('a symbolic link to a directory outside the root', () => {
  beforeEach(async () => {
    const { root, outside } = context;
    await mkdir(join(outside, 'inner'), { recursive: true });
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await writeFile(join(outside, 'inner', 'deeper.txt'), 'deeper');
    await symlink(outside, join(root, 'linkdir'));
    await mkdir(join(root, 'a'));
    await symlink(outside, join(root, 'a', 'nested'));
  });

  it('cannot be read through', async () => {
    const { store } = context;
    for (const key of ['linkdir/secret.txt', 'linkdir/inner/deeper.txt', 'a/nested/secret.txt']) {
      await expectCode(store.read(key), 'PERMISSION_DENIED');
      await expectCode(store.stat(key), 'PERMISSION_DENIED');
      await expectCode(store.copy(key, 'copied'), 'PERMISSION_DENIED');
      await expectCode(store.move(key, 'moved'), 'PERMISSION_DENIED');
    }
    expect(await keys()).toEqual([]);
  });

  it('cannot be written through: nothing appears outside', async () => {
    const { store, outside } = context;
    await store.write('fine.txt', 'fine');
    for (const key of ['linkdir/new.txt', 'linkdir/inner/new.txt', 'linkdir/brand/new/dir.txt', 'a/nested/new.txt', 'linkdir/secret.txt']) {
      await expectCode(store.write(key, 'x'), 'PERMISSION_DENIED');
      await expectCode(store.copy('fine.txt', key), 'PERMISSION_DENIED');
      await expectCode(store.move('fine.txt', key), 'PERMISSION_DENIED');
    }
    expect((await readdir(outside, { recursive: true })).sort()).toEqual(['inner', 'inner/deeper.txt', 'secret.txt']);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(await store.readText('fine.txt')).toBe('fine');
  });

  it('cannot be deleted through, listed or taken for a folder', async () => {
    const { store, outside } = context;
    await expectCode(store.delete('linkdir/secret.txt'), 'PERMISSION_DENIED');
    await expectCode(store.delete('a/nested/inner/deeper.txt'), 'PERMISSION_DENIED');
    await expect(store.deleteFolder('linkdir')).resolves.toBe(0);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(await readFile(join(outside, 'inner', 'deeper.txt'), 'utf8')).toBe('deeper');
    for (const [prefix, delimiter] of [['', undefined], ['', '/'], ['linkdir/', undefined], ['linkdir/', '/'], ['linkdir/in', undefined], ['a/', '/'], ['a/nested/', undefined]] as const) {
      expect(await keys(prefix, delimiter)).toEqual([]);
    }
    expect(await store.isFolder('linkdir')).toBe(false);
  });
});

describe('other planted entries', () => {
  it('a link that stays inside the root is not followed either', async () => {
    const { store, root } = context;
    await store.write('real/file.txt', 'real');
    await symlink(join(root, 'real'), join(root, 'alias'));
    await symlink(join(root, 'real', 'file.txt'), join(root, 'alias.txt'));
    await expectCode(store.read('alias/file.txt'), 'PERMISSION_DENIED');
    await expectCode(store.read('alias.txt'), 'PERMISSION_DENIED');
    await expectCode(store.write('alias/other.txt', 'x'), 'PERMISSION_DENIED');
    expect(await keys()).toEqual(['real/file.txt']);
  });

  it('a dangling link to a missing outside directory is never created through', async () => {
    const { store, root, outside } = context;
    await symlink(join(outside, 'does', 'not', 'exist'), join(root, 'dangling'));
    await expectCode(store.write('dangling/x.txt', 'x'), 'PERMISSION_DENIED');
    await expectCode(store.write('dangling', 'x'), 'PERMISSION_DENIED');
    await expectCode(store.read('dangling/x.txt'), 'NOT_FOUND');
    await expect(stat(outside)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a named pipe is refused without blocking', async (test) => {
    const { store, root } = context;
    try {
      execFileSync('mkfifo', [join(root, 'pipe')]);
    } catch {
      test.skip('mkfifo is not available');
    }
    await expectCode(store.read('pipe'), 'PERMISSION_DENIED');
    await expectCode(store.stat('pipe'), 'PERMISSION_DENIED');
    await expectCode(store.write('pipe', 'x'), 'PERMISSION_DENIED');
    expect(await keys()).toEqual([]);
  });
});
