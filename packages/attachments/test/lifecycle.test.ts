/**
 * The five scenarios of a file column's life, on real Drizzle tables (SQLite, PostgreSQL,
 * MySQL/MariaDB) with the blobs in every store of `storeFactories`:
 * insert fails (new blobs removed, no row), insert succeeds (row and blobs), update fails (old
 * blobs intact, new ones removed), update succeeds (old blobs removed, new ones readable), row
 * deleted (its blobs removed). Then savepoints, a commit that fails, and malformed column values.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStowageError, type Store } from '@stowage/core';
import { Attachments, isAttachmentError, type Attachment, type UnitOfWork } from '@stowage/attachments';
import { filesOf } from '@stowage/attachments/drizzle';
import { andThen, databaseKinds, openDatabase, type TestDatabase } from './fixtures/databases.ts';
import { failure, keysIn, png, text } from './fixtures/files.ts';
import { storeFactories, type OpenedStore } from './fixtures/stores.ts';

const SLOTS = {
  avatars: { store: 'files', maxSize: 64 * 1024, allowedTypes: ['image/png', 'image/jpeg'] },
  documents: { store: 'files', maxSize: 64 * 1024, allowedTypes: ['text/*', 'application/pdf'] },
};

async function readText(attachments: Attachments, reference: Attachment): Promise<string> {
  return new Response(await attachments.read(reference)).text();
}

async function readBytes(attachments: Attachments, reference: Attachment): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await attachments.read(reference)).arrayBuffer());
}

for (const { kind, url, skip } of databaseKinds()) {
  for (const factory of storeFactories) {
    const reason = skip ?? factory.skip;
    describe.skipIf(reason !== undefined)(`${kind} rows, ${factory.name} blobs${reason ? ` (${reason})` : ''}`, () => {
      let directory: string;
      let opened: OpenedStore;
      let store: Store;
      let attachments: Attachments;
      let database: TestDatabase;

      beforeEach(async () => {
        directory = await mkdtemp(join(tmpdir(), 'stowage-attachments-'));
        const context = { kind, url, directory };
        opened = await factory.open(context);
        store = opened.store;
        attachments = new Attachments({ stores: { files: store }, slots: SLOTS });
        database = await openDatabase(context, attachments);
      });
      afterEach(async () => {
        await database?.close();
        await opened?.close();
        await rm(directory, { recursive: true, force: true });
      });

      /** Uploads an avatar and two documents for user `id` through `files`. */
      async function uploadAll(files: UnitOfWork, id: string) {
        const avatarBytes = png();
        const avatar = await files.upload('avatars', avatarBytes, { entity: { model: 'users', id, field: 'avatar' }, filename: 'me.png' });
        const documents = [
          await files.upload('documents', text('first'), { entity: { model: 'users', id, field: 'documents' }, filename: 'first.txt' }),
          await files.upload('documents', text('second'), { entity: { model: 'users', id, field: 'documents' }, filename: 'second.txt' }),
        ];
        return { avatar, avatarBytes, documents };
      }

      /** Creates user `id` with an avatar and two documents, committed. */
      async function createUser(id: string) {
        const files = attachments.begin();
        const uploaded = await uploadAll(files, id);
        await database.db.transaction((tx) => database.insert(tx, { id, name: id, avatar: uploaded.avatar, documents: uploaded.documents }), { files });
        return uploaded;
      }

      it('insert fails: the new blobs are removed and no row exists', async () => {
        const files = attachments.begin();
        const { avatar, documents } = await uploadAll(files, 'ada');
        expect(await keysIn(store)).toHaveLength(3);
        const row = { id: 'ada', name: 'Ada', avatar, documents };
        // The second insert of the same id violates the primary key: the database rolls back.
        const error = await failure(database.db.transaction((tx) => andThen(database.insert(tx, row), () => database.insert(tx, row)), { files }));
        expect(isStowageError(error)).toBe(false);
        expect(files.state).toBe('rolled-back');
        expect(await database.get('ada')).toBeUndefined();
        for (const reference of [avatar, ...documents]) expect(await attachments.exists(reference)).toBe(false);
        expect(await keysIn(store)).toEqual([]);
      });

      it('insert succeeds: the row and its blobs exist', async () => {
        const { avatar, avatarBytes, documents } = await createUser('ada');
        const row = await database.get('ada');
        expect(row).toEqual({ id: 'ada', name: 'ada', avatar, documents });
        expect(row!.avatar).toMatchObject({ slot: 'avatars', store: 'files', size: 512, contentType: 'image/png', filename: 'me.png' });
        expect(row!.avatar!.key).toMatch(/^avatars\/users\/ada\/avatar\/[\w-]+\.png$/);
        expect(await readBytes(attachments, row!.avatar!)).toEqual(avatarBytes);
        expect(await readText(attachments, row!.documents[1]!)).toMatch(/^second: /);
        expect((await keysIn(store)).sort()).toEqual([avatar.key, ...documents.map((document) => document.key)].sort());
      });

      it('update fails: the old blobs are intact and the new ones removed', async () => {
        const before = await createUser('ada');
        const files = attachments.begin();
        const avatar = await files.replace(before.avatar, 'avatars', png(), { entity: { model: 'users', id: 'ada', field: 'avatar' } });
        const added = await files.upload('documents', text('third'), { entity: { model: 'users', id: 'ada', field: 'documents' } });
        const documents = [before.documents[0]!, added];
        files.detachReplaced(before.documents, documents);
        // The update is followed by an insert that collides with the row itself.
        const collide = { id: 'ada', name: 'again', avatar: null, documents: [] };
        await failure(database.db.transaction((tx) => andThen(database.update(tx, 'ada', { avatar, documents }), () => database.insert(tx, collide)), { files }));
        const row = await database.get('ada');
        expect(row).toEqual({ id: 'ada', name: 'ada', avatar: before.avatar, documents: before.documents });
        expect(await readBytes(attachments, before.avatar)).toEqual(before.avatarBytes);
        for (const document of before.documents) expect(await attachments.exists(document)).toBe(true);
        expect(await attachments.exists(avatar)).toBe(false);
        expect(await attachments.exists(added)).toBe(false);
        expect(await keysIn(store)).toHaveLength(3);
      });

      it('update succeeds: the old blobs are removed and the new ones readable', async () => {
        const before = await createUser('ada');
        const files = attachments.begin();
        const bytes = png(1000);
        const avatar = await files.replace(before.avatar, 'avatars', bytes, { entity: { model: 'users', id: 'ada', field: 'avatar' } });
        const added = await files.upload('documents', text('third'), { entity: { model: 'users', id: 'ada', field: 'documents' } });
        const documents = [before.documents[0]!, added];
        files.detachReplaced(before.documents, documents);
        // Until the commit, the replaced blobs are still there.
        expect(await attachments.exists(before.avatar)).toBe(true);
        await database.db.transaction((tx) => database.update(tx, 'ada', { avatar, documents }), { files });
        expect(files.state).toBe('committed');
        expect(await database.get('ada')).toEqual({ id: 'ada', name: 'ada', avatar, documents });
        expect(await attachments.exists(before.avatar)).toBe(false);
        expect(await attachments.exists(before.documents[1]!)).toBe(false);
        expect(await readBytes(attachments, avatar)).toEqual(bytes);
        expect(await readText(attachments, before.documents[0]!)).toMatch(/^first: /);
        expect(await readText(attachments, added)).toMatch(/^third: /);
        expect((await keysIn(store)).sort()).toEqual([avatar.key, ...documents.map((document) => document.key)].sort());
      });

      it('row deleted: its blobs are removed', async () => {
        const before = await createUser('ada');
        await createUser('bob');
        const files = attachments.begin();
        const row = (await database.get('ada'))!;
        files.detach(row.avatar);
        files.detach(row.documents);
        await database.db.transaction((tx) => database.remove(tx, 'ada'), { files });
        expect(await database.get('ada')).toBeUndefined();
        for (const reference of [before.avatar, ...before.documents]) expect(await attachments.exists(reference)).toBe(false);
        // Bob's files are untouched.
        expect(await keysIn(store, 'avatars/users/bob/')).toHaveLength(1);
        expect(await keysIn(store)).toHaveLength(3);
      });

      it('a rolled-back savepoint forgets its detachments and deletes its uploads; the outer commit stands', async () => {
        const before = await createUser('ada');
        const files = attachments.begin();
        const early = await files.upload('documents', text('kept'), { entity: { model: 'users', id: 'ada', field: 'documents' } });
        let inner: Attachment | undefined;
        if (database.sync) {
          await database.db.transaction((tx) => {
            database.update(tx, 'ada', { documents: [...before.documents, early] });
            try {
              (tx as { transaction(callback: (tx: object) => unknown): unknown }).transaction((nested) => {
                filesOf(nested).detach(before.avatar);
                database.update(nested, 'ada', { avatar: null });
                throw new Error('savepoint fails');
              });
            } catch {
              // the savepoint rolled back; the outer transaction goes on
            }
          }, { files });
        } else {
          await database.db.transaction(async (tx) => {
            await database.update(tx, 'ada', { documents: [...before.documents, early] });
            await (tx as { transaction(callback: (tx: object) => Promise<unknown>): Promise<unknown> })
              .transaction(async (nested) => {
                const work = filesOf(nested);
                inner = await work.replace(before.avatar, 'avatars', png(), { entity: { model: 'users', id: 'ada', field: 'avatar' } });
                await database.update(nested, 'ada', { avatar: inner });
                throw new Error('savepoint fails');
              })
              .catch(() => undefined);
          }, { files });
          expect(await attachments.exists(inner!)).toBe(false);
        }
        const row = (await database.get('ada'))!;
        expect(row.avatar).toEqual(before.avatar);
        expect(await attachments.exists(before.avatar)).toBe(true);
        expect(row.documents).toEqual([...before.documents, early]);
        expect(await attachments.exists(early)).toBe(true);
        expect(await keysIn(store)).toHaveLength(4);
      });

      it('a malformed column value fails with INVALID_REFERENCE when read', async () => {
        await createUser('ada');
        await database.corrupt('ada', JSON.stringify({ slot: 'avatars', store: 'files', key: '../etc/passwd' }));
        const error = await failure(database.get('ada'));
        expect(isAttachmentError(error, 'INVALID_REFERENCE')).toBe(true);
        expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
      });

      if (kind !== 'sqlite') {
        it('uploads inside an async transaction callback commit and roll back with it', async () => {
          const committed = await database.db.transaction(async (tx) => {
            const files = filesOf(tx);
            const avatar = await files.upload('avatars', png(), { entity: { model: 'users', id: 'ada', field: 'avatar' } });
            await database.insert(tx, { id: 'ada', name: 'Ada', avatar, documents: [] });
            return avatar;
          });
          expect((await database.get('ada'))!.avatar).toEqual(committed);
          let rolledBack: Attachment | undefined;
          await failure(
            database.db.transaction(async (tx) => {
              rolledBack = await filesOf(tx).upload('avatars', png(), { entity: { model: 'users', id: 'bob', field: 'avatar' } });
              await database.insert(tx, { id: 'bob', name: 'Bob', avatar: rolledBack, documents: [] });
              throw new Error('the request handler failed');
            }),
          );
          expect(await database.get('bob')).toBeUndefined();
          expect(await attachments.exists(rolledBack!)).toBe(false);
          expect(await keysIn(store)).toEqual([committed.key]);
        });
      }

      if (kind === 'postgres') {
        it('a commit that fails leaves the new blobs for the collector and deletes nothing', async () => {
          const before = await createUser('ada');
          await database.execute('ALTER TABLE $table ADD CONSTRAINT $table_name_unique UNIQUE (name) DEFERRABLE INITIALLY DEFERRED');
          const files = attachments.begin();
          const avatar = await files.replace(before.avatar, 'avatars', png(), { entity: { model: 'users', id: 'bob', field: 'avatar' } });
          // The duplicate name is only checked at COMMIT, after the callback returned.
          const error = await failure(database.db.transaction((tx) => database.insert(tx, { id: 'bob', name: 'ada', avatar, documents: [] }), { files }));
          expect(String(((error as Error).cause as Error | undefined)?.message ?? error)).toMatch(/unique|duplicate/i);
          expect(files.state).toBe('abandoned');
          expect(await database.get('bob')).toBeUndefined();
          expect(await attachments.exists(avatar)).toBe(true);
          expect(await attachments.exists(before.avatar)).toBe(true);
          const report = await attachments.collect('avatars', { live: database.references(), gracePeriodMs: 0 });
          expect(report).toMatchObject({ scanned: 2, referenced: 1, orphaned: 1, deleted: 1 });
          expect(await attachments.exists(avatar)).toBe(false);
          expect(await attachments.exists(before.avatar)).toBe(true);
        });
      }

      if (kind === 'sqlite') {
        it('an async callback on a synchronous driver fails and deletes nothing the database may hold', async () => {
          const files = attachments.begin();
          const avatar = await files.upload('avatars', png(), { entity: { model: 'users', id: 'ada', field: 'avatar' } });
          const error = await failure(database.db.transaction(async (tx) => database.insert(tx, { id: 'ada', name: 'Ada', avatar, documents: [] }), { files }));
          expect(String(error)).toMatch(/promise|synchronous/i);
          expect(files.state).not.toBe('committed');
          expect(await database.get('ada')).toBeUndefined();
        });
      }
    });
  }
}
