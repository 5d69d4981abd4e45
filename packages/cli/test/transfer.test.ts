/**
 * Large transfers between different backends through the built binary: 50 MiB from a local file into
 * SQLite, on into the local adapter, back to a plain file and through standard input and output, the
 * SHA-256 equal at every step; and, without a terminal, nothing but the result lines.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinaryBytes, sha256, sha256File, workspace, writeRandomFile, type Workspace } from './run-binary.ts';

const SIZE = 50 * 1024 * 1024;

describe('a 50 MiB copy between backends', () => {
  let ws: Workspace;
  let digest: string;

  beforeAll(async () => {
    ws = await workspace();
    digest = await writeRandomFile(join(ws.dir, 'big.bin'), SIZE);
  });
  afterAll(() => ws?.cleanup());

  it('local file to SQLite: the stored SHA-256 and the bytes read back match, and only the result is printed', async () => {
    const copied = await ws.run(['cp', 'big.bin', 'sqlite:./store.db/blobs/big.bin']);
    expect(copied).toMatchObject({ status: 0, stderr: '', stdout: 'copied big.bin to sqlite:./store.db/blobs/big.bin (50.0 MiB)\n' });
    const stat = JSON.parse((await ws.run(['stat', '--json', 'sqlite:./store.db/blobs/big.bin'])).stdout) as { size: number; sha256: string };
    expect(stat).toMatchObject({ size: SIZE, sha256: digest });
    expect((await ws.run(['cp', 'sqlite:./store.db/blobs/big.bin', './back.bin'])).status).toBe(0);
    expect(await sha256File(join(ws.dir, 'back.bin'))).toBe(digest);
    // The download left no temporary file beside its destination.
    expect((await readdir(ws.dir)).sort()).toEqual(['back.bin', 'big.bin', 'store.db']);
  });

  it('SQLite to the local adapter and back through standard output', async () => {
    const copied = await ws.run(['cp', 'sqlite:./store.db/blobs/big.bin', 'file:./tree//big.bin']);
    expect(copied).toMatchObject({ status: 0, stderr: '' });
    expect(await sha256File(join(ws.dir, 'tree/big.bin'))).toBe(digest);
    const local = JSON.parse((await ws.run(['stat', '--json', 'file:./tree//big.bin'])).stdout) as { sha256: string };
    expect(local.sha256).toBe(digest);
    const streamed = runBinaryBytes(['cat', 'file:./tree//big.bin'], ws.dir);
    expect(streamed).toMatchObject({ status: 0, stderr: '' });
    expect(sha256(streamed.stdout)).toBe(digest);
  });

  it('standard input to a store and a store to standard output keep every byte', async () => {
    const input = await readFile(join(ws.dir, 'big.bin'));
    const uploaded = await ws.run(['cp', '-', ':piped.bin'], { input });
    expect(uploaded).toMatchObject({ status: 0, stderr: '', stdout: 'copied - to :piped.bin (50.0 MiB)\n' });
    const stat = JSON.parse((await ws.run(['stat', '--json', ':piped.bin'])).stdout) as { sha256: string; contentType: string };
    expect(stat).toMatchObject({ sha256: digest, contentType: 'application/octet-stream' });
    const out = runBinaryBytes(['cp', ':piped.bin', '-'], ws.dir);
    expect(out).toMatchObject({ status: 0, stderr: '' });
    expect(sha256(out.stdout)).toBe(digest);
  });
});
