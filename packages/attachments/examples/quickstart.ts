/**
 * The README's walk-through, runnable: `node --conditions=@stowage/source packages/attachments/examples/quickstart.ts`
 * (SQLite in memory for the rows and the blobs: no server, nothing left behind).
 *
 * A Drizzle model with an avatar and a list of documents, from a multipart upload through a
 * `Request` handler to an update, a deletion and a garbage collection.
 */
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { openStores } from '@stowage/core';
import { Attachments } from '@stowage/attachments';
import { filesOf, withAttachments } from '@stowage/attachments/drizzle';
import { attachment, attachmentList } from '@stowage/attachments/drizzle/sqlite-core';
import { errorResponse, uploadMultipart } from '@stowage/attachments/http';

// 1. The model: one JSON column per single file, one per list of files.
const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  avatar: attachment('avatar'),
  documents: attachmentList('documents').notNull(),
});

// 2. Stores and slots. Any stowage store works: a folder, S3, a SQL table (here SQLite in memory).
const { stores, closeAll } = await openStores({ stores: { files: { backend: 'sqlite::memory:' } } }, { load: (name) => import(name) });
const attachments = new Attachments({
  stores,
  slots: {
    avatars: { store: 'files', maxSize: 2 * 1024 * 1024, allowedTypes: ['image/png', 'image/jpeg', 'image/webp'] },
    documents: { store: 'files', keys: 'sha256', maxSize: 10 * 1024 * 1024, allowedTypes: ['application/pdf', 'text/*'] },
  },
});

const sqlite = new Database(':memory:');
sqlite.exec("CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, avatar TEXT, documents TEXT NOT NULL DEFAULT '[]')");
const db = withAttachments(drizzle(sqlite), attachments);

// 3. A fetch-style handler (Hono, Next.js, Bun): files stream into their slots, then the row is
//    written in a transaction bound to the same unit of work.
async function createUser(request: Request): Promise<Response> {
  const id = crypto.randomUUID();
  const files = attachments.begin();
  try {
    const { fields, files: uploaded } = await uploadMultipart(files, request, {
      files: { avatar: 'avatars', documents: 'documents' },
      entity: { model: 'users', id },
    });
    // better-sqlite3 runs transactions synchronously: the uploads are done, so pass the unit of work.
    await db.transaction((tx) => {
      tx.insert(users).values({ id, name: fields.get('name') ?? '', avatar: uploaded.avatar?.[0] ?? null, documents: uploaded.documents ?? [] }).run();
    }, { files });
    return Response.json({ id }, { status: 201 });
  } catch (error) {
    if (files.state === 'open') await files.rollback();
    // Log `error` itself on the server; the client gets { error: { code, message } } with the
    // status, never the error's own message (it names keys, slots and stores).
    return errorResponse(error);
  }
}

const png = (size: number) => {
  const bytes = new Uint8Array(size);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
};

try {
  const form = new FormData();
  form.append('name', 'Ada');
  form.append('avatar', new File([png(1024)], 'ada.png', { type: 'image/png' }));
  form.append('documents', new File(['Notes on the Analytical Engine'], 'notes.txt', { type: 'text/plain' }));
  form.append('documents', new File(['%PDF-1.7 ...'], 'cv.pdf', { type: 'application/pdf' }));
  const created = await createUser(new Request('http://localhost/users', { method: 'POST', body: form }));
  const { id } = (await created.json()) as { id: string };
  console.log(created.status, id); // 201 <uuid>

  // Refused while streaming, nothing stored: 413 for a file over the slot's maxSize.
  const big = new FormData();
  big.append('avatar', new File([png(3 * 1024 * 1024)], 'huge.png', { type: 'image/png' }));
  console.log((await createUser(new Request('http://localhost/users', { method: 'POST', body: big }))).status); // 413

  // 4. Read a file back through its reference.
  const [ada] = db.select().from(users).where(eq(users.id, id)).all();
  console.log(ada!.avatar!.contentType, ada!.documents.map((document) => document.filename)); // image/png [ 'notes.txt', 'cv.pdf' ]
  console.log(await new Response(await attachments.read(ada!.documents[0]!)).text()); // Notes on the Analytical Engine

  // 5. Update: a new avatar, one document fewer. The old avatar is deleted after the commit, never before.
  const files = attachments.begin();
  const avatar = await files.replace(ada!.avatar, 'avatars', png(2048), { entity: { model: 'users', id, field: 'avatar' }, filename: 'ada-2.png' });
  const documents = ada!.documents.slice(0, 1);
  await db.transaction((tx) => {
    tx.update(users).set({ avatar, documents }).where(eq(users.id, id)).run();
    filesOf(tx).detachReplaced(ada!.documents, documents);
  }, { files });
  console.log(await attachments.exists(ada!.avatar!), await attachments.exists(avatar)); // false true

  // 6. Delete the row: its files go once the deletion is committed (content-addressed documents are
  //    left to the collector, since other rows may share them).
  const [gone] = db.select().from(users).where(eq(users.id, id)).all();
  await db.transaction((tx) => {
    tx.delete(users).where(eq(users.id, id)).run();
    filesOf(tx).detach([gone!.avatar, ...gone!.documents]);
  });

  // 7. Garbage collection: what no row refers to, once older than the grace period (0 here, for
  //    the demonstration; keep the default day, or more than your longest transaction).
  async function* live() {
    for (const row of db.select({ avatar: users.avatar, documents: users.documents }).from(users).all()) {
      yield row.avatar;
      yield row.documents;
    }
  }
  const dryRun = await attachments.collect('documents', { live: live(), dryRun: true, gracePeriodMs: 0 });
  console.log(dryRun.orphaned, dryRun.orphanedBytes); // 2 42
  const collected = await attachments.collect('documents', { live: live(), gracePeriodMs: 0 });
  console.log(collected.deleted, collected.bytesFreed); // 2 42
} finally {
  sqlite.close();
  await closeAll();
}
