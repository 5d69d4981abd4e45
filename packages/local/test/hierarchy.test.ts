/**
 * A filesystem cannot hold both `a` and `a/b`: such writes fail with ALREADY_EXISTS and change
 * nothing, deleting prunes empty folders so the name is free again, and concurrent writers and
 * deleters in one folder never lose a write.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCode, slowBody, temporaryFiles, treeOf, useTestRoot } from './helpers.ts';

const context = useTestRoot();

describe('file and folder conflicts', () => {
  it('refuses a/b while the file a exists, saying "a" is a file, and changes nothing', async () => {
    const { store, root } = context;
    const before = await store.write('a', 'file a');
    for (const key of ['a/b', 'a/b/c/d']) {
      const error = await expectCode(store.write(key, 'x'), 'ALREADY_EXISTS');
      expect(error.message).toContain('"a" is a file');
      expect(error.backend).toBe('local');
    }
    expect(await store.stat('a')).toEqual(before);
    expect(await treeOf(root)).toEqual(['a']);
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('names the file that is in the way, however deep', async () => {
    const { store } = context;
    await store.write('x/y/z', 'file');
    const error = await expectCode(store.write('x/y/z/w/v', 'x'), 'ALREADY_EXISTS');
    expect(error.message).toContain('"x/y/z" is a file');
  });

  it('refuses a while a/b exists, saying "a" is a folder, and changes nothing', async () => {
    const { store, root } = context;
    await store.write('a/b', 'inside');
    const error = await expectCode(store.write('a', 'x'), 'ALREADY_EXISTS');
    expect(error.message).toContain('"a" is a folder');
    await expectCode(store.write('a', 'x', { ifNoneMatch: '*' }), 'ALREADY_EXISTS');
    await expectCode(store.write('a', 'x', { ifMatch: '"whatever"' }), 'PRECONDITION_FAILED');
    expect(await store.readText('a/b')).toBe('inside');
    expect(await treeOf(root)).toEqual(['a', 'a/b']);
  });

  it('refuses copies and moves onto a conflict and keeps the source', async () => {
    const { store } = context;
    await store.write('file', 'f');
    await store.write('folder/inside', 'i');
    await store.write('source', 's');
    await expectCode(store.copy('source', 'file/below'), 'ALREADY_EXISTS');
    await expectCode(store.copy('source', 'folder'), 'ALREADY_EXISTS');
    await expectCode(store.move('source', 'file/below'), 'ALREADY_EXISTS');
    await expectCode(store.move('source', 'folder'), 'ALREADY_EXISTS');
    await expectCode(store.move('folder/inside', 'folder'), 'ALREADY_EXISTS');
    expect(await store.readText('source')).toBe('s');
    expect(await store.readText('folder/inside')).toBe('i');
  });

  it('treats a folder key as no object: stat and read say NOT_FOUND, delete leaves its contents', async () => {
    const { store } = context;
    await store.write('dir/file', 'x');
    await expectCode(store.stat('dir'), 'NOT_FOUND');
    await expectCode(store.read('dir'), 'NOT_FOUND');
    await store.delete('dir');
    expect(await store.readText('dir/file')).toBe('x');
  });

  it('a write that fails after streaming its body leaves no new folders behind', async () => {
    const { store, root } = context;
    await store.write('blocker', 'x');
    await expectCode(store.write('new/deep/key', 'x', { ifMatch: '"nope"' }), 'PRECONDITION_FAILED');
    await expectCode(store.write('blocker/deep/key', 'x'), 'ALREADY_EXISTS');
    expect(await treeOf(root)).toEqual(['blocker']);
  });
});

describe('pruning empty folders', () => {
  it('removes the folders a delete empties, so the name can hold a file again', async () => {
    const { store, root } = context;
    await store.write('a/b/c', 'deep');
    await store.delete('a/b/c');
    await expect(stat(join(root, 'a'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.isFolder('a')).toBe(false);
    await store.write('a', 'now a file');
    expect(await readFile(join(root, 'a'), 'utf8')).toBe('now a file');
    await store.delete('a');
    await store.write('a/b', 'a folder again');
    expect(await store.readText('a/b')).toBe('a folder again');
  });

  it('keeps folders that still hold something, and never removes the root', async () => {
    const { store, root } = context;
    await store.write('a/b/c', '1');
    await store.write('a/x', '2');
    await store.delete('a/b/c');
    expect(await treeOf(root)).toEqual(['a', 'a/x']);
    await store.delete('a/x');
    expect(await treeOf(root)).toEqual([]);
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('a move prunes the folders it empties', async () => {
    const { store, root } = context;
    await store.write('p/q/r', 'x');
    await store.move('p/q/r', 's');
    expect(await treeOf(root)).toEqual(['s']);
  });

  it('an empty directory made by hand is not listed, yet blocks a file of its name', async () => {
    const { store, root } = context;
    await mkdir(join(root, 'manual'));
    await expectCode(store.write('manual', 'x'), 'ALREADY_EXISTS');
    expect(await store.isFolder('manual')).toBe(false);
  });

  it('never loses a write when deletes in the same folder prune it concurrently', async () => {
    const { store } = context;
    for (let round = 0; round < 40; round++) {
      await store.write(`shared/deep/old-${round}`, 'old');
      const [, written] = await Promise.all([store.delete(`shared/deep/old-${round}`), store.write(`shared/deep/new-${round}`, 'new')]);
      expect(await store.stat(`shared/deep/new-${round}`)).toEqual(written);
      await store.delete(`shared/deep/new-${round}`);
    }
    expect((await store.list()).items).toEqual([]);
  });

  it('create-only writers racing into folders that do not exist yet: one wins, the rest ALREADY_EXISTS', async () => {
    const { store } = context;
    for (let round = 0; round < 10; round++) {
      const key = `fresh-${round}/deep/er/key`;
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.write(key, slowBody(`writer ${i}`, 3), { ifNoneMatch: '*' })));
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      for (const result of results) if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'ALREADY_EXISTS' });
    }
  });

  it('reads racing with moves and deletes see the object or NOT_FOUND, nothing else', async () => {
    const { store } = context;
    for (let round = 0; round < 30; round++) {
      await store.write(`moving/${round}/from`, 'content');
      const outcomes = await Promise.all([
        store.readText(`moving/${round}/from`).catch((error: { code: string }) => error.code),
        store.stat(`moving/${round}/from`).then(() => 'content', (error: { code: string }) => error.code),
        store.move(`moving/${round}/from`, `moved/${round}`).then(() => 'moved'),
        store.readText(`moving/${round}/from`).catch((error: { code: string }) => error.code),
      ]);
      for (const outcome of outcomes) expect(['content', 'moved', 'NOT_FOUND']).toContain(outcome);
      await store.write(`deleting/${round}/x`, 'content');
      const raced = await Promise.all([
        store.readText(`deleting/${round}/x`).catch((error: { code: string }) => error.code),
        store.delete(`deleting/${round}/x`).then(() => 'content'),
        store.stat(`deleting/${round}/x`).then(() => 'content', (error: { code: string }) => error.code),
      ]);
      for (const outcome of raced) expect(['content', 'NOT_FOUND']).toContain(outcome);
    }
  });

  it('a file and a folder of the same name written at once: exactly one wins', async () => {
    const { store } = context;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.allSettled([store.write(`race${round}`, 'file'), store.write(`race${round}/child`, 'child')]);
      const won = results.filter((result) => result.status === 'fulfilled');
      expect(won.length).toBe(1);
      const lost = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ code: 'ALREADY_EXISTS' });
    }
  });
});
