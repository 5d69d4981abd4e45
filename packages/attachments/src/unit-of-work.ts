/**
 * The unit of work: the files of one database transaction. Blobs are written first, rows second;
 * when the transaction commits, the blobs its rows let go of are deleted; when it rolls back, the
 * blobs it wrote are. An old blob is never deleted before the row that replaced it is committed, so
 * a crash at any point leaves at worst an orphan (which the garbage collector finds), never a row
 * that points at nothing.
 *
 * It knows nothing of any ORM: {@link runInTransaction} binds it to whatever runs a transaction
 * with a callback (Drizzle, Kysely, Prisma, a driver's own helper).
 *
 * @module
 */
import { InvalidArgumentError, type Body } from '@stowage/core';
import type { Attachments, CleanupReport, UploadOptions } from './attachments.ts';
import { parseAttachment, sameAttachment, type Attachment } from './reference.ts';

/** Where a unit of work stands. */
export type UnitOfWorkState = 'open' | 'committed' | 'rolled-back' | 'abandoned';

/** One reference, a list of them, or nothing: `null` and `undefined` (an empty optional field) stand for no file, also inside a list. */
type References = Attachment | readonly (Attachment | null | undefined)[] | null | undefined;

function toList(references: References): Attachment[] {
  if (references === null || references === undefined) return [];
  const list: readonly (Attachment | null | undefined)[] = Array.isArray(references) ? references : [references as Attachment];
  return list.filter((reference) => reference !== null && reference !== undefined).map((reference) => parseAttachment(reference));
}

/**
 * Deletes the blobs of these references now, store by store; content-addressed ones are skipped
 * (counted as deferred: other rows may share them). Failures are reported, not thrown.
 */
async function deleteBlobs(attachments: Attachments, references: readonly Attachment[]): Promise<CleanupReport> {
  const report: CleanupReport = { deleted: 0, deferred: 0, failed: [] };
  const byStore = new Map<string, Map<string, Attachment>>();
  for (const reference of references) {
    if (attachments.slot(reference.slot).keys === 'sha256') {
      report.deferred++;
      continue;
    }
    const keys = byStore.get(reference.store) ?? new Map<string, Attachment>();
    keys.set(reference.key, reference);
    byStore.set(reference.store, keys);
  }
  for (const [name, keys] of byStore) {
    try {
      await attachments.store(name).deleteMany(keys.keys());
      report.deleted += keys.size;
    } catch (error) {
      for (const reference of keys.values()) {
        report.failed.push({ reference, error });
        attachments.onCleanupError?.(error, reference);
      }
    }
  }
  return report;
}

function emptyReport(): CleanupReport {
  return { deleted: 0, deferred: 0, failed: [] };
}

/**
 * The files of one database transaction. Get one from `attachments.begin()` (or from an ORM
 * adapter, which also finishes it), upload through it, tell it which references the transaction
 * removes from its rows ({@link detach}), then finish it with exactly one of {@link commit},
 * {@link rollback} or {@link abandon}, according to what the database did.
 *
 * @example
 * ```ts
 * const files = attachments.begin()
 * const avatar = await files.upload('avatars', file, { entity: { model: 'users', id, field: 'avatar' } })
 * files.detach(user.avatar) // the old one: deleted only once the new row is committed
 * await runInTransaction(files, (body) => db.transaction(body), async (tx) => {
 *   await tx.update(users).set({ avatar }).where(eq(users.id, id))
 * })
 * ```
 */
export class UnitOfWork {
  readonly #attachments: Attachments;
  readonly #parent: UnitOfWork | undefined;
  readonly #root: UnitOfWork;
  /** Blobs this work wrote: deleted on rollback. */
  readonly #created: Attachment[] = [];
  /** Blobs the transaction's rows let go of: deleted on commit. */
  readonly #detached: Attachment[] = [];
  /** Blobs no row can refer to whatever the outcome (uploads of savepoints that rolled back). */
  readonly #unreferenced: Attachment[] = [];
  /** Uploads in flight (kept on the root, which waits for them before it decides anything). */
  readonly #pending = new Set<Promise<unknown>>();
  #state: UnitOfWorkState = 'open';

  /** Use `attachments.begin()` or {@link savepoint}. */
  constructor(attachments: Attachments, parent?: UnitOfWork) {
    this.#attachments = attachments;
    this.#parent = parent;
    this.#root = parent ? parent.#root : this;
  }

  /** Where this unit of work stands. */
  get state(): UnitOfWorkState {
    return this.#state;
  }

  /** The `Attachments` it uploads through. */
  get attachments(): Attachments {
    return this.#attachments;
  }

  /** The references of the blobs uploaded through it so far (and not rolled back). */
  get uploaded(): readonly Attachment[] {
    return [...this.#created];
  }

  /** The references detached so far (to be deleted on commit). */
  get detached(): readonly Attachment[] {
    return [...this.#detached];
  }

  #assertOpen(what: string): void {
    if (this.#state !== 'open') throw new InvalidArgumentError(`cannot ${what}: the unit of work is ${this.#state}`);
  }

  /**
   * Stores a file through a slot's policy (see `Attachments.upload` for what is refused, and when);
   * the blob is deleted again if the transaction rolls back. Put the returned reference in the row.
   */
  upload(slot: string, body: Body, options: UploadOptions = {}): Promise<Attachment> {
    try {
      this.#assertOpen('upload');
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const upload = this.#attachments.upload(slot, body, options).then((reference) => {
      this.#record(reference);
      return reference;
    });
    const pending = this.#root.#pending;
    const tracked = upload.catch(() => undefined);
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
    return upload;
  }

  /**
   * Uploads a new file and detaches the one it replaces, in one call: the old blob is deleted only
   * after the commit, the new one only after a rollback.
   */
  async replace(previous: Attachment | null | undefined, slot: string, body: Body, options: UploadOptions = {}): Promise<Attachment> {
    const reference = await this.upload(slot, body, options);
    this.detach(previous);
    return reference;
  }

  #record(reference: Attachment): void {
    // The root decides only after its uploads in flight have finished, so it takes them whatever its
    // state; a finished savepoint hands them on.
    if (this.#state === 'open' || !this.#parent) this.#created.push(reference);
    else if (this.#state === 'committed') this.#parent.#record(reference);
    else this.#parent.#unreferenced.push(reference);
  }

  /**
   * Deletes a file this unit of work uploaded, now, and forgets it: for a file the user took back
   * before saving, or uploads of a request that failed half-way. Only for references uploaded
   * through this unit of work; for anything a row held, use {@link detach}.
   */
  async discard(reference: Attachment): Promise<CleanupReport> {
    this.#assertOpen('discard');
    const index = this.#created.findIndex((created) => sameAttachment(created, reference));
    if (index === -1) throw new InvalidArgumentError(`cannot discard ${JSON.stringify(reference?.key)}: it was not uploaded through this unit of work (detach what rows held)`);
    const [removed] = this.#created.splice(index, 1);
    return deleteBlobs(this.#attachments, [removed!]);
  }

  /**
   * Says that the transaction removes these references from its rows (a replaced file, a deleted
   * row, an item taken out of a list): their blobs are deleted after the commit, and kept if the
   * transaction rolls back. `null` and `undefined` are ignored.
   */
  detach(references: References): void {
    this.#assertOpen('detach');
    const list = toList(references);
    for (const reference of list) this.#attachments.assertOwned(reference);
    this.#detached.push(...list);
  }

  /**
   * Detaches what `before` has and `after` does not (compared by store and key): for updates of a
   * single-file or a multi-file field.
   *
   * @example
   * ```ts
   * files.detachReplaced(row.documents, nextDocuments)
   * ```
   */
  detachReplaced(before: References, after: References): void {
    const kept = toList(after);
    this.detach(toList(before).filter((old) => !kept.some((reference) => sameAttachment(reference, old))));
  }

  /**
   * A nested unit of work for a savepoint (a nested transaction). When the savepoint is released,
   * call its {@link commit}: its uploads and detachments join this one. When it rolls back, call
   * its {@link rollback}: its detachments are forgotten and its uploads are deleted when this one
   * finishes. For a savepoint both take effect at once (the returned promise is already settled).
   */
  savepoint(): UnitOfWork {
    this.#assertOpen('open a savepoint');
    return new UnitOfWork(this.#attachments, this);
  }

  async #settle(): Promise<void> {
    // Uploads still streaming are decided together with the rest; an upload started after this
    // point is refused by #assertOpen.
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /**
   * The transaction committed: deletes the detached blobs (never a content-addressed one: another
   * row may share it; the collector removes those) and the uploads of rolled-back savepoints.
   * Resolves with what it deleted; a deletion that fails is reported (and passed to
   * `onCleanupError`), not thrown, because the commit stands.
   */
  async commit(): Promise<CleanupReport> {
    this.#assertOpen('commit');
    if (this.#parent) {
      this.#state = 'committed';
      this.#parent.#assertOpen('release a savepoint into it');
      this.#parent.#created.push(...this.#created);
      this.#parent.#detached.push(...this.#detached);
      this.#parent.#unreferenced.push(...this.#unreferenced);
      return emptyReport();
    }
    this.#state = 'committed';
    await this.#settle();
    return deleteBlobs(this.#attachments, [...this.#detached, ...this.#unreferenced]);
  }

  /**
   * The transaction rolled back: deletes the blobs this unit of work uploaded (content-addressed
   * ones are left to the collector) and keeps every detached one.
   */
  async rollback(): Promise<CleanupReport> {
    this.#assertOpen('roll back');
    this.#state = 'rolled-back';
    if (this.#parent) {
      this.#parent.#unreferenced.push(...this.#created, ...this.#unreferenced);
      return emptyReport();
    }
    await this.#settle();
    return deleteBlobs(this.#attachments, [...this.#created, ...this.#unreferenced]);
  }

  /**
   * The outcome is unknown (the commit itself failed: the connection may have dropped after the
   * database committed): deletes nothing. Whatever no row refers to is an orphan for the collector.
   */
  async abandon(): Promise<void> {
    this.#assertOpen('abandon');
    this.#state = 'abandoned';
    if (this.#parent) return;
    await this.#settle();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Runs `body` in a database transaction and finishes the unit of work with it: committed when the
 * transaction commits, rolled back when `body` throws (the database rolls back too), abandoned
 * (nothing deleted, orphans left for the collector) when the commit itself fails, since the
 * outcome is then unknown.
 *
 * `open` starts the ORM's transaction with the callback it is given and returns what the ORM
 * returns; that is all an ORM adapter needs. `body` may be synchronous (better-sqlite3's
 * transactions are): upload before, then write rows inside.
 *
 * @example
 * ```ts
 * // Kysely (annotate the transaction: TypeScript infers it from `body`)
 * await runInTransaction(files, (callback) => db.transaction().execute(callback), async (trx: Transaction<Database>) => {
 *   await trx.insertInto('users').values({ id, avatar: JSON.stringify(avatar) }).execute()
 * })
 * // Prisma
 * await runInTransaction(files, (callback) => prisma.$transaction(callback), (tx: Prisma.TransactionClient) => tx.user.create({ data: { id, avatar } }))
 * ```
 */
export async function runInTransaction<TX, T>(
  work: UnitOfWork,
  // `any`: ORMs type the callback they take as returning a promise (Kysely, Prisma) or a plain value
  // (better-sqlite3); this one returns whatever `body` returns, so it must fit both.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  open: (callback: (tx: TX) => any) => unknown,
  body: (tx: TX, work: UnitOfWork) => T,
): Promise<Awaited<T>> {
  let entered = false;
  let outcome = 'running' as 'running' | 'returned' | 'threw';
  let result: Awaited<T>;
  try {
    result = (await open((tx: TX) => {
      entered = true;
      let value: T;
      try {
        value = body(tx, work);
      } catch (error) {
        outcome = 'threw';
        throw error;
      }
      if (!isThenable(value)) {
        outcome = 'returned';
        return value;
      }
      return Promise.resolve(value).then(
        (resolved) => {
          outcome = 'returned';
          return resolved;
        },
        (error: unknown) => {
          outcome = 'threw';
          throw error;
        },
      );
    })) as Awaited<T>;
  } catch (error) {
    // Certain rollbacks: the body threw, or the transaction never started. Anything else (the
    // commit failed, or the driver gave up on a body still running) may have committed.
    if (work.state === 'open') {
      if (outcome === 'threw' || !entered) await work.rollback();
      else await work.abandon();
    }
    throw error;
  }
  if (outcome !== 'returned') {
    // The ORM resolved without waiting for the body (a synchronous driver given an async body):
    // what the database did is unknown.
    if (work.state === 'open') await work.abandon();
    throw new InvalidArgumentError('the transaction finished before its callback did: this driver runs transactions synchronously, so upload before the transaction and keep its callback synchronous');
  }
  if (work.state === 'open') await work.commit();
  return result;
}
