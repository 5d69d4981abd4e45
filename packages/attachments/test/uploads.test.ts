/**
 * Slot policies: size limits and content types refused before anything is stored (declared size
 * and type before a byte is read, first bytes before the backend is called, the size limit while
 * the body streams), key strategies, and the unit of work's own rules.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, isStowageError, type Backend } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { MemoryBackend } from '@stowage/memory';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { Attachments, INCOMING_FOLDER, isAttachmentError, type Attachment, type SlotPolicy } from '@stowage/attachments';
import { keysIn, png } from './fixtures/files.ts';

/** A backend that counts the writes that reach it. */
function counted(backend: Backend): { backend: Backend; writes: () => number } {
  let writes = 0;
  const proxy = new Proxy(backend, {
    get(target, property) {
      if (property === 'write') {
        return (...args: Parameters<Backend['write']>) => {
          writes++;
          return target.write(...args);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { backend: proxy, writes: () => writes };
}

/** A streamed body of `parts` chunks of `size` bytes (PNG-signed), counting the chunks pulled. */
function stream(parts: number, size: number): { body: AsyncGenerator<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    for (let index = 0; index < parts; index++) {
      pulled++;
      yield index === 0 ? png(size) : new Uint8Array(size).fill(index);
    }
  }
  return { body: body(), pulled: () => pulled };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (isAttachmentError(error)) return error.kind;
    if (isStowageError(error)) return error.code;
    throw error;
  }
}

const SLOTS: Record<string, SlotPolicy> = {
  avatars: { store: 'files', maxSize: 64 * 1024, allowedTypes: ['image/png', 'image/jpeg'] },
  documents: { store: 'files', keys: 'sha256', maxSize: 64 * 1024, allowedTypes: ['text/*', 'application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'] },
  exports: { store: 'files', fileName: ({ entity, random }) => `${entity.id}-${random.slice(0, 4)}.csv` },
  fixed: { store: 'files', fileName: () => 'report.csv' },
  anything: { store: 'files', allowedTypes: ['image/png'], sniff: false },
  'exports-random': { store: 'files' },
};
const entity = { model: 'users', id: 7, field: 'avatar' };

describe('slot policies on a memory store', () => {
  let store: Store;
  let writes: () => number;
  let attachments: Attachments;
  beforeEach(() => {
    const wrapped = counted(new MemoryBackend());
    store = new Store(wrapped.backend);
    writes = wrapped.writes;
    attachments = new Attachments({ stores: { files: store }, slots: SLOTS });
  });

  it('refuses a declared size over maxSize before anything reaches the backend', async () => {
    const files = attachments.begin();
    expect(await codeOf(files.upload('avatars', png(64 * 1024 + 1), { entity }))).toBe('TOO_LARGE');
    const big = stream(100, 1024);
    expect(await codeOf(files.upload('avatars', big.body, { entity, size: 100 * 1024 }))).toBe('TOO_LARGE');
    expect(big.pulled()).toBe(0);
    expect(writes()).toBe(0);
    expect(await keysIn(store)).toEqual([]);
  });

  it('counts one byte as "1 byte" when it refuses a size', async () => {
    const tiny = new Attachments({ stores: { files: store }, slots: { tiny: { store: 'files', keys: 'sha256', maxSize: 1 } } });
    const error = await tiny.upload('tiny', 'xy').catch((caught: Error) => caught);
    expect((error as Error).message).toBe("the upload is 2 bytes; slot 'tiny' accepts at most 1 byte");
  });

  it('refuses a streamed body as soon as it crosses maxSize, and stores nothing', async () => {
    const files = attachments.begin();
    const big = stream(1000, 16 * 1024);
    const error = await files.upload('avatars', big.body, { entity, contentType: 'image/png' }).catch((caught: unknown) => caught);
    expect(isStowageError(error, 'TOO_LARGE')).toBe(true);
    expect((error as { limit: number }).limit).toBe(64 * 1024);
    // 4 chunks fill the limit; the 5th crosses it and is never handed to the backend.
    expect(big.pulled()).toBeLessThanOrEqual(6);
    expect(await keysIn(store)).toEqual([]);
    expect(files.uploaded).toEqual([]);
  });

  it('accepts a body of exactly maxSize', async () => {
    const reference = await attachments.begin().upload('avatars', png(64 * 1024), { entity });
    expect(reference.size).toBe(64 * 1024);
  });

  it('refuses a declared type the slot does not allow without reading the body', async () => {
    const body = stream(3, 100);
    const error = await attachments.begin().upload('avatars', body.body, { entity, contentType: 'application/x-msdownload' }).catch((caught: unknown) => caught);
    expect(isAttachmentError(error, 'CONTENT_TYPE_NOT_ALLOWED')).toBe(true);
    expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).name).toBe('ContentTypeNotAllowedError');
    expect((error as Error).message).toBe("slot 'avatars' accepts image/png, image/jpeg, not the declared type application/x-msdownload");
    expect(body.pulled()).toBe(0);
    expect(writes()).toBe(0);
  });

  it('refuses first bytes that contradict the declared type or show a disallowed one, before the backend is called', async () => {
    const files = attachments.begin();
    const pdf = new TextEncoder().encode('%PDF-1.7\n% not an image\n');
    expect(await codeOf(files.upload('avatars', pdf, { entity, contentType: 'image/png' }))).toBe('CONTENT_TYPE_NOT_ALLOWED');
    expect(await codeOf(files.upload('avatars', 'just text', { entity, contentType: 'image/png' }))).toBe('CONTENT_TYPE_NOT_ALLOWED');
    expect(await codeOf(files.upload('avatars', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), { entity }))).toBe('CONTENT_TYPE_NOT_ALLOWED');
    // A PDF sent as text/plain to a slot that takes both is stored as what it is.
    const document = await files.upload('documents', pdf, { contentType: 'text/plain' });
    expect(document.contentType).toBe('application/pdf');
    expect(writes()).toBe(1);
  });

  it('lets the first bytes decide an unknown or mislabeled type', async () => {
    const files = attachments.begin();
    expect((await files.upload('avatars', png(), { entity })).contentType).toBe('image/png');
    expect((await files.upload('avatars', png(), { entity, contentType: 'image/jpeg', filename: 'photo.jpg' })).contentType).toBe('image/png');
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]);
    const docx = await files.upload('documents', new File([zip], 'letter.docx'));
    expect(docx).toMatchObject({ contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', filename: 'letter.docx' });
    // Without sniffing, the declared type is trusted.
    expect((await files.upload('anything', 'not a png', { entity, contentType: 'image/png' })).contentType).toBe('image/png');
  });

  it('makes per-entity keys with the extension of the stored type, and refuses uploads without an entity before reading', async () => {
    const files = attachments.begin();
    const reference = await files.upload('avatars', png(), { entity, filename: 'Me.PNG' });
    expect(reference.key).toMatch(/^avatars\/users\/7\/avatar\/[A-Za-z0-9_-]{16}\.png$/);
    expect(reference.filename).toBe('Me.PNG');
    // The uploader's name never reaches the key: HTML behind a PNG signature, named x.html, is a .png.
    const html = new Uint8Array([...png(8), ...new TextEncoder().encode('<html><script>alert(1)</script></html>')]);
    const disguised = await files.upload('avatars', html, { entity, filename: 'x.html', contentType: 'image/png' });
    expect(disguised.key).toMatch(/^avatars\/users\/7\/avatar\/[A-Za-z0-9_-]{16}\.png$/);
    expect(disguised.filename).toBe('x.html');
    expect((await store.stat(disguised.key)).metadata.filename).toBe('x.html');
    // A type with no known extension gets none, whatever the file was called.
    const unknown = await files.upload('exports-random', 'x', { entity, filename: 'run.sh', contentType: 'application/x-custom' });
    expect(unknown.key).toMatch(/^exports-random\/users\/7\/avatar\/[A-Za-z0-9_-]{16}$/);
    const body = stream(1, 10);
    expect(await codeOf(files.upload('avatars', body.body))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(files.upload('avatars', png(), { entity: { model: 'users', id: 'a/b', field: 'avatar' } }))).toBe('INVALID_ARGUMENT');
    expect(body.pulled()).toBe(0);
  });

  it('writes given file names create-only', async () => {
    const files = attachments.begin();
    const first = await files.upload('fixed', 'a,b\n', { entity: { model: 'reports', id: 1, field: 'csv' } });
    expect(first.key).toBe('fixed/reports/1/csv/report.csv');
    expect(await codeOf(files.upload('fixed', 'c,d\n', { entity: { model: 'reports', id: 1, field: 'csv' } }))).toBe('ALREADY_EXISTS');
    expect(await store.readText(first.key)).toBe('a,b\n');
    const named = await files.upload('exports', 'x\n', { entity: { model: 'reports', id: 9, field: 'csv' } });
    expect(named.key).toMatch(/^exports\/reports\/9\/csv\/9-[\w-]{4}\.csv$/);
  });

  it('stores identical content once under its digest, and leaves shared blobs to the collector', async () => {
    const files = attachments.begin();
    const a = await files.upload('documents', 'the same text', { filename: 'a.txt' });
    const b = await files.upload('documents', 'the same text', { filename: 'b.txt' });
    const c = await files.upload('documents', 'other text', { filename: 'c.txt' });
    expect(a.sha256).toBe(createHash('sha256').update('the same text').digest('hex'));
    expect(a.key).toBe(`documents/${a.sha256.slice(0, 2)}/${a.sha256}`);
    expect(b.key).toBe(a.key);
    expect(c.key).not.toBe(a.key);
    expect(await keysIn(store, 'documents/')).toEqual([a.key, c.key].sort());
    expect(await keysIn(store, `documents/${INCOMING_FOLDER}/`)).toEqual([]);
    // Neither a rollback nor a commit deletes content-addressed blobs: other rows may share them.
    const report = await files.rollback();
    expect(report).toEqual({ deleted: 0, deferred: 3, failed: [] });
    expect(await keysIn(store, 'documents/')).toHaveLength(2);
  });

  it('refuses work on a finished unit of work and discards its own uploads on request', async () => {
    const files = attachments.begin();
    const reference = await files.upload('avatars', png(), { entity });
    const other = await attachments.begin().upload('avatars', png(), { entity });
    expect(await codeOf(files.discard(other))).toBe('INVALID_ARGUMENT');
    await files.discard(reference);
    expect(await attachments.exists(reference)).toBe(false);
    await files.commit();
    expect(await codeOf(files.upload('avatars', png(), { entity }))).toBe('INVALID_ARGUMENT');
    expect(() => files.detach(other)).toThrow(/committed/);
    expect(await codeOf(files.commit())).toBe('INVALID_ARGUMENT');
  });

  it('waits for uploads in flight before it decides, so a rollback deletes them too', async () => {
    const files = attachments.begin();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield png(100);
      await gate;
      yield new Uint8Array(100);
    }
    const upload = files.upload('avatars', slow(), { entity });
    const rollback = files.rollback();
    release();
    const reference = await upload;
    expect(await rollback).toMatchObject({ deleted: 1 });
    expect(await attachments.exists(reference)).toBe(false);
  });

  it('detaches a nullable field spread into a list, ignoring the empty entries', async () => {
    const uploaded = attachments.begin();
    const document = await uploaded.upload('documents', 'kept text', { filename: 'a.txt' });
    await uploaded.commit();
    const user: { avatar: Attachment | null; documents: Attachment[] } = { avatar: null, documents: [document] };
    const files = attachments.begin();
    files.detach([user.avatar, ...user.documents, undefined]);
    files.detach(user.avatar);
    expect(files.detached).toEqual([document]);
    await files.rollback();
  });

  it('refuses to detach a reference outside its slot, so a forged one cannot delete other files', async () => {
    const files = attachments.begin();
    const avatar = await attachments.upload('avatars', png(), { entity });
    expect(() => files.detach({ ...avatar, key: 'fixed/reports/1/csv/report.csv' })).toThrow(/does not lie in slot 'avatars'/);
    expect(() => files.detach({ ...avatar, slot: 'nowhere' })).toThrow(/unknown attachment slot/);
    expect(() => files.detach({ ...avatar, store: 'other' })).toThrow(/does not lie in slot/);
    files.detach(avatar);
    expect(await files.commit()).toEqual({ deleted: 1, deferred: 0, failed: [] });
    expect(await attachments.exists(avatar)).toBe(false);
  });

  it('reports a deletion that fails after the commit instead of throwing, and tells onCleanupError', async () => {
    // A real failure: the store's database connection is closed before the commit's deletions.
    const backend = await SqlBlobBackend.open({ url: 'sqlite::memory:' });
    const seen: string[] = [];
    const broken = new Attachments({ stores: { files: new Store(backend) }, slots: SLOTS, onCleanupError: (_error, reference) => void seen.push(reference.key) });
    const avatar = await broken.upload('avatars', png(), { entity });
    const files = broken.begin();
    files.detach(avatar);
    await backend.close();
    const report = await files.commit();
    expect(files.state).toBe('committed');
    expect(report.deleted).toBe(0);
    expect(report.failed.map((failure) => failure.reference.key)).toEqual([avatar.key]);
    expect(seen).toEqual([avatar.key]);
  });

  it('refuses bad slot configurations', () => {
    expect(() => new Attachments({ stores: { files: store }, slots: { a: { store: 'elsewhere' } } })).toThrow(/elsewhere/);
    expect(() => new Attachments({ stores: { files: store }, slots: { a: { store: 'files', prefix: 'up' }, b: { store: 'files', prefix: 'up/b' } } })).toThrow(/nested prefixes/);
    expect(() => new Attachments({ stores: { files: store }, slots: { a: { store: 'files', prefix: '/abs' } } })).toThrow(/prefix/);
    expect(() => new Attachments({ stores: { files: store }, slots: { a: { store: 'files', maxSize: -1 } } })).toThrow(/maxSize/);
    expect(() => new Attachments({ stores: { files: store }, slots: { a: { store: 'files', allowedTypes: ['png'] } } })).toThrow(/allowedTypes/);
    // Same prefix names on different stores do not collide.
    expect(() => new Attachments({ stores: { files: store, other: store }, slots: { a: { store: 'files', prefix: 'up' }, b: { store: 'other', prefix: 'up' } } })).not.toThrow();
  });
});

describe('slot policies on a local store', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'stowage-attachments-uploads-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function filesOnDisk(folder: string): Promise<string[]> {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  }

  it('leaves no file on disk after an oversized or refused upload', async () => {
    const store = new Store(new LocalBackend({ root: directory }));
    const attachments = new Attachments({ stores: { files: store }, slots: SLOTS });
    const files = attachments.begin();
    expect(await codeOf(files.upload('avatars', stream(1000, 16 * 1024).body, { entity, contentType: 'image/png' }))).toBe('TOO_LARGE');
    expect(await codeOf(files.upload('documents', stream(1000, 16 * 1024).body, { contentType: 'text/plain' }))).toBe('CONTENT_TYPE_NOT_ALLOWED');
    const textChunks = (async function* () {
      for (let index = 0; index < 1000; index++) yield new TextEncoder().encode('x'.repeat(16 * 1024));
    })();
    expect(await codeOf(files.upload('documents', textChunks, { contentType: 'text/plain' }))).toBe('TOO_LARGE');
    expect(await filesOnDisk(directory)).toEqual([]);
  });
});
