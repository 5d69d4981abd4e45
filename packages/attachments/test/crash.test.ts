/**
 * A process killed between the blob write and the row's commit (SIGKILL, so nothing of it runs
 * after) leaves only an orphan, never a row pointing at nothing; the collector then removes it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { Attachments, parseAttachment, parseOptionalAttachment, type Attachment } from '@stowage/attachments';
import { keysIn } from './fixtures/files.ts';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Runs the writer until it has printed its reference, then kills it. */
async function killWriter(directory: string, mode: 'between' | 'inside'): Promise<Attachment> {
  const child = spawn(process.execPath, ['--conditions=@stowage/source', WRITER, directory, mode], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('..', import.meta.url)) });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  let line: string;
  try {
    line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        output += data.toString('utf8');
        if (output.includes('\n')) resolve(output.slice(0, output.indexOf('\n')));
      });
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was killed`)));
    });
  } finally {
    // Also when the test gives up waiting: no writer outlives its test.
    child.kill('SIGKILL');
    await exited;
  }
  return parseAttachment(line);
}

describe('a writer killed before its row commits', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'stowage-attachments-crash-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  // A child process loads TypeScript, Drizzle and the drivers: give it time on a busy machine.
  for (const mode of ['between', 'inside'] as const) {
    it(`leaves only an orphan, which the collector removes (killed ${mode === 'between' ? 'between the blob write and the transaction' : 'inside the open transaction'})`, async () => {
      const avatar = await killWriter(directory, mode);
      const store = new Store(new LocalBackend({ root: `${directory}/blobs` }));
      const attachments = new Attachments({ stores: { files: store }, slots: { avatars: { store: 'files' } } });
      const client = new Database(`${directory}/rows.db`);
      try {
        const rows = client.prepare('SELECT id, avatar FROM users').all() as { id: string; avatar: string | null }[];
        // No row points at anything: the row never committed.
        expect(rows).toEqual([]);
        expect(await attachments.exists(avatar)).toBe(true);
        expect(await keysIn(store)).toEqual([avatar.key]);
        const live = rows.map((row) => parseOptionalAttachment(row.avatar));
        expect(await attachments.collect('avatars', { live, dryRun: true, gracePeriodMs: 0 })).toMatchObject({ orphaned: 1, deleted: 0 });
        expect(await attachments.collect('avatars', { live, gracePeriodMs: 0 })).toMatchObject({ scanned: 1, orphaned: 1, deleted: 1, bytesFreed: avatar.size });
        expect(await keysIn(store)).toEqual([]);
      } finally {
        client.close();
      }
    }, 60_000);
  }
});
