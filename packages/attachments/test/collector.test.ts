/**
 * The garbage collector on a local store (file times are set back to make objects old, so that no
 * test depends on the clock): dry runs, deletion, the grace period, an upload in flight during a
 * collection, live references in every shape, and a content-addressed object rewritten between
 * listing and deletion.
 */
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, isStowageError, type Backend, type ListEntry } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { Attachments, isAttachmentError, type Attachment, type LiveReference } from '@stowage/attachments';
import { keysIn, png } from './fixtures/files.ts';

const HOUR = 60 * 60 * 1000;

describe('garbage collector', () => {
  let directory: string;
  let store: Store;
  let attachments: Attachments;
  let afterList: (() => Promise<void>) | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'stowage-attachments-gc-'));
    const backend: Backend = new LocalBackend({ root: directory });
    // Lets a test act between the collector's listing and its deletions.
    const hooked = new Proxy(backend, {
      get(target, property) {
        if (property === 'list') {
          return async (...args: Parameters<Backend['list']>) => {
            const page = await target.list(...args);
            await afterList?.();
            return page;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    store = new Store(hooked);
    attachments = new Attachments({
      stores: { files: store },
      slots: { avatars: { store: 'files', allowedTypes: ['image/*'] }, documents: { store: 'files', keys: 'sha256' } },
    });
    afterList = undefined;
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  /** Sets an object's modification time `ms` back. */
  async function age(reference: Attachment | string, ms: number): Promise<void> {
    const key = typeof reference === 'string' ? reference : reference.key;
    const when = new Date(Date.now() - ms);
    await utimes(join(directory, key), when, when);
  }

  async function avatar(id: number): Promise<Attachment> {
    return attachments.upload('avatars', png(100 + id), { entity: { model: 'users', id, field: 'avatar' } });
  }

  it('reports orphans in a dry run, then deletes exactly them', async () => {
    const live = [await avatar(1), await avatar(2)];
    const orphans = [await avatar(3), await avatar(4), await avatar(5)];
    for (const reference of [...live, ...orphans]) await age(reference, 2 * HOUR);
    const seen: ListEntry[] = [];
    const dry = await attachments.collect('avatars', { live, dryRun: true, gracePeriodMs: HOUR, onOrphan: (entry) => void seen.push(entry) });
    const orphanBytes = orphans.reduce((sum, reference) => sum + reference.size, 0);
    expect(dry).toEqual({
      slot: 'avatars',
      store: 'files',
      dryRun: true,
      liveReferences: 2,
      scanned: 5,
      referenced: 2,
      young: 0,
      orphaned: 3,
      orphanedBytes: orphanBytes,
      deleted: 0,
      bytesFreed: 0,
    });
    expect(seen.map((entry) => entry.key).sort()).toEqual(orphans.map((reference) => reference.key).sort());
    expect(await keysIn(store)).toHaveLength(5);

    const real = await attachments.collect('avatars', { live, gracePeriodMs: HOUR });
    expect(real).toMatchObject({ dryRun: false, scanned: 5, orphaned: 3, deleted: 3, bytesFreed: orphanBytes });
    expect((await keysIn(store)).sort()).toEqual(live.map((reference) => reference.key).sort());
    expect(await attachments.collect('avatars', { live, gracePeriodMs: HOUR })).toMatchObject({ scanned: 2, orphaned: 0, deleted: 0 });
  });

  it('never deletes an object younger than the grace period', async () => {
    const old = await avatar(1);
    const recent = await avatar(2);
    const fresh = await avatar(3);
    await age(old, 3 * HOUR);
    await age(recent, HOUR / 2);
    const report = await attachments.collect('avatars', { live: [], gracePeriodMs: HOUR });
    expect(report).toMatchObject({ scanned: 3, young: 2, orphaned: 1, deleted: 1 });
    expect(await attachments.exists(old)).toBe(false);
    expect(await attachments.exists(recent)).toBe(true);
    expect(await attachments.exists(fresh)).toBe(true);
    // The default grace period is a day.
    await age(recent, 23 * HOUR);
    expect(await attachments.collect('avatars', { live: [] })).toMatchObject({ young: 2, deleted: 0 });
  });

  it('leaves an upload in flight alone, before and after its blob lands, until its row commits', async () => {
    const orphan = await avatar(1);
    await age(orphan, 2 * HOUR);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let streaming!: () => void;
    const started = new Promise<void>((resolve) => (streaming = resolve));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield png(4096);
      streaming();
      await gate;
      yield new Uint8Array(4096).fill(1);
    }
    const files = attachments.begin();
    const upload = files.upload('avatars', slow(), { entity: { model: 'users', id: 2, field: 'avatar' } });
    await started;
    // Mid-stream: the collector runs (even with no grace at all) and only the old orphan goes.
    expect(await attachments.collect('avatars', { live: [], gracePeriodMs: 0 })).toMatchObject({ scanned: 1, deleted: 1 });
    release();
    const reference = await upload;
    expect(await attachments.exists(reference)).toBe(true);
    // Its blob is stored, its row not committed yet: the grace period keeps it.
    expect(await attachments.collect('avatars', { live: [], gracePeriodMs: HOUR })).toMatchObject({ scanned: 1, young: 1, deleted: 0 });
    await files.commit();
    // Committed: the row's reference keeps it, however old it gets.
    await age(reference, 10 * HOUR);
    expect(await attachments.collect('avatars', { live: [{ avatar: reference }].map((row) => row.avatar), gracePeriodMs: HOUR })).toMatchObject({ referenced: 1, deleted: 0 });
    expect(await attachments.exists(reference)).toBe(true);
  });

  it('takes live references as references, lists, JSON text and nulls, from an async iterable; ignores other slots', async () => {
    const a = await avatar(1);
    const b = await avatar(2);
    const c = await avatar(3);
    const d = await attachments.upload('documents', 'a document');
    for (const reference of [a, b, c]) await age(reference, 2 * HOUR);
    await age(d, 2 * HOUR);
    async function* rows(): AsyncGenerator<LiveReference> {
      yield a;
      yield null;
      yield [b, d];
      yield JSON.stringify(c);
      yield JSON.stringify([]);
      yield undefined;
    }
    const report = await attachments.collect('avatars', { live: rows(), gracePeriodMs: HOUR });
    expect(report).toMatchObject({ liveReferences: 3, scanned: 3, referenced: 3, orphaned: 0 });
    // The document slot's own collection does not see the avatars, and finds its one object live.
    expect(await attachments.collect('documents', { live: [d], gracePeriodMs: HOUR })).toMatchObject({ liveReferences: 1, scanned: 1, referenced: 1 });
  });

  it('stops before deleting anything when a live reference is malformed', async () => {
    const orphan = await avatar(1);
    await age(orphan, 2 * HOUR);
    const error = await attachments.collect('avatars', { live: [{ slot: 'avatars', key: 'x' } as unknown as Attachment], gracePeriodMs: HOUR }).catch((caught: unknown) => caught);
    expect(isAttachmentError(error, 'INVALID_REFERENCE')).toBe(true);
    expect(await attachments.exists(orphan)).toBe(true);
    const bad = await attachments.collect('avatars', { live: [], gracePeriodMs: -1 }).catch((caught: unknown) => caught);
    expect(isStowageError(bad, 'INVALID_ARGUMENT')).toBe(true);
  });

  it('keeps thousands of live references as hashes and still tells each orphan apart', async () => {
    const kept = await avatar(1);
    const orphan = await avatar(2);
    await age(kept, 2 * HOUR);
    await age(orphan, 2 * HOUR);
    function* live(): Generator<Attachment> {
      for (let index = 0; index < 50_000; index++) yield { ...kept, key: `avatars/users/${index}/avatar/other.png` };
      yield kept;
    }
    const report = await attachments.collect('avatars', { live: live(), gracePeriodMs: HOUR });
    expect(report).toMatchObject({ liveReferences: 50_001, scanned: 2, referenced: 1, orphaned: 1, deleted: 1 });
    expect(await attachments.exists(kept)).toBe(true);
  });

  it('does not delete a content-addressed object that an upload rewrote after it was listed', async () => {
    const first = await attachments.upload('documents', 'shared text');
    const other = await attachments.upload('documents', 'other text');
    await age(first, 2 * HOUR);
    await age(other, 2 * HOUR);
    let again: Attachment | undefined;
    afterList = async () => {
      afterList = undefined;
      // Between the listing and the deletion, the same content is uploaded again (its new row not committed yet).
      again = await attachments.upload('documents', 'shared text');
    };
    const report = await attachments.collect('documents', { live: [], gracePeriodMs: HOUR });
    expect(again!.key).toBe(first.key);
    expect(report).toMatchObject({ scanned: 2, orphaned: 1, deleted: 1, young: 1 });
    expect(await attachments.exists(again!)).toBe(true);
    expect(await attachments.exists(other)).toBe(false);
  });
});
