/**
 * Ctrl-C in the middle of a copy: the binary is copying standard input (so the test controls how far
 * it got) over an existing object when it receives SIGINT. It must exit with 130 and one ABORTED line,
 * and leave the destination exactly as it was: the old object intact, no partial object, no chunk
 * rows, no temporary file.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TABLE_NAME } from '@stowage/sql-blob';
import { interruptedCopy, workspace, type Workspace } from './run-binary.ts';

const OLD = 'the old object, which must survive\n';

function chunkRows(database: string): number {
  const db = new Database(database, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS count FROM ${DEFAULT_TABLE_NAME}_chunks`).get() as { count: number }).count;
  } finally {
    db.close();
  }
}

describe('Ctrl-C mid-copy leaves the destination as it was', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    await ws.file('old.txt', OLD);
  });
  afterEach(() => ws.cleanup());

  it('SQLite: the old object intact, no new object, no chunk rows left', async () => {
    expect((await ws.run(['cp', 'old.txt', 'sqlite:./store.db/big.bin'])).status).toBe(0);
    const before = (await ws.run(['ls', '-r', '--json', 'sqlite:./store.db'])).stdout;
    const interrupted = await interruptedCopy(ws, 'sqlite:./store.db/big.bin', 12);
    expect(interrupted.status).toBe(130);
    expect(interrupted.stdout).toBe('');
    expect(interrupted.stderr).toBe('stowage: ABORTED: interrupted by SIGINT: the object being written was not stored, its destination is as it was (sqlite:./store.db/big.bin)\n');
    expect((await ws.run(['cat', 'sqlite:./store.db/big.bin'])).stdout).toBe(OLD);
    expect((await ws.run(['ls', '-r', '--json', 'sqlite:./store.db'])).stdout).toBe(before);
    expect(chunkRows(join(ws.dir, 'store.db'))).toBe(0);
  });

  it('the embedded default store, interrupted by SIGTERM: exit status 143, the old object intact', async () => {
    expect((await ws.run(['cp', 'old.txt', ':big.bin'])).status).toBe(0);
    const interrupted = await interruptedCopy(ws, ':big.bin', 6, { signal: 'SIGTERM' });
    expect(interrupted.status).toBe(143);
    expect(interrupted.stderr).toMatch(/^stowage: ABORTED: interrupted by SIGTERM: .+ \(:big\.bin\)\n$/);
    expect((await ws.run(['cat', ':big.bin'])).stdout).toBe(OLD);
    expect(chunkRows(join(ws.dir, '.stowage/store.db'))).toBe(0);
  });

  it('the local adapter: the old file intact, no temporary file left', async () => {
    expect((await ws.run(['cp', 'old.txt', 'file:./data//big.bin'])).status).toBe(0);
    const interrupted = await interruptedCopy(ws, 'file:./data//big.bin', 12);
    expect(interrupted.status).toBe(130);
    expect(interrupted.stderr).toMatch(/^stowage: ABORTED: .+ \(file:\.\/data\/\/big\.bin\)\n$/);
    expect(await readFile(join(ws.dir, 'data/big.bin'), 'utf8')).toBe(OLD);
    expect(await readdir(join(ws.dir, 'data/.stowage/tmp'))).toEqual([]);
    expect((await ws.run(['ls', '-r', 'file:./data//'])).stdout).toBe('file:./data//big.bin\n');
  });

  it('a plain local file: the old file intact, nothing else in its directory', async () => {
    await ws.file('out/big.bin', OLD);
    const interrupted = await interruptedCopy(ws, './out/big.bin', 12);
    expect(interrupted.status).toBe(130);
    expect(interrupted.stderr).toMatch(/^stowage: ABORTED: .+ \(\.\/out\/big\.bin\)\n$/);
    expect(await readFile(join(ws.dir, 'out/big.bin'), 'utf8')).toBe(OLD);
    expect(await readdir(join(ws.dir, 'out'))).toEqual(['big.bin']);
  });

  it.each([
    ['a plain local file', './out/big.bin', async () => expect(await readdir(join(ws.dir, 'out'))).toEqual(['big.bin'])],
    ['SQLite', 'sqlite:./store.db/big.bin', async () => expect(chunkRows(join(ws.dir, 'store.db'))).toBe(0)],
    ['the local adapter', 'file:./data//big.bin', async () => expect(await readdir(join(ws.dir, 'data/.stowage/tmp'))).toEqual([])],
  ])('%s: Ctrl-C while the copy waits for more input stops it at once, the old object intact', async (_, destination, nothingLeft) => {
    expect((await ws.run(['cp', 'old.txt', destination])).status).toBe(0);
    const interrupted = await interruptedCopy(ws, destination, 2, { stallMs: 500 });
    expect(interrupted.stderr).toMatch(/^stowage: ABORTED: interrupted by SIGINT: /);
    expect(interrupted.status).toBe(130);
    expect((await ws.run(['cat', destination])).stdout).toBe(OLD);
    await nothingLeft();
  });

  it('an interrupted copy to a new key stores nothing at all', async () => {
    const interrupted = await interruptedCopy(ws, 'sqlite:./store.db/new.bin', 8);
    expect(interrupted.status).toBe(130);
    const missing = await ws.run(['stat', 'sqlite:./store.db/new.bin']);
    expect(missing.status).toBe(3);
    expect((await ws.run(['ls', '-r', 'sqlite:./store.db'])).stdout).toBe('');
    expect(chunkRows(join(ws.dir, 'store.db'))).toBe(0);
  });
});
