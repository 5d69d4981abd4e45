/**
 * `@stowage/attachments/drizzle`: Drizzle ORM's transactions carry a unit of work.
 *
 * Wrap the database once with {@link withAttachments}; then every `db.transaction(...)` has a unit
 * of work ({@link filesOf}`(tx)`) that commits or rolls back with it, nested transactions
 * (savepoints) included. The column types are in `@stowage/attachments/drizzle/sqlite-core`,
 * `/pg-core` and `/mysql-core`.
 *
 * @example
 * ```ts
 * const db = withAttachments(drizzle(pool), attachments)
 * await db.transaction(async (tx) => {
 *   const files = filesOf(tx)
 *   const avatar = await files.upload('avatars', file, { entity: { model: 'users', id, field: 'avatar' } })
 *   const [before] = await tx.select().from(users).where(eq(users.id, id))
 *   await tx.update(users).set({ avatar }).where(eq(users.id, id))
 *   files.detach(before?.avatar) // deleted once the update is committed
 * })
 * ```
 *
 * @module
 */
import { InvalidArgumentError } from '@stowage/core';
import type { Attachments } from '../attachments.ts';
import { UnitOfWork, runInTransaction } from '../unit-of-work.ts';

/** Anything with a Drizzle-style `transaction(callback, config?)`. */
export interface TransactionRunner {
  // `any`: each dialect's transaction and config types differ, and a constraint must accept them all.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  transaction(callback: (tx: any) => any, config?: any): unknown;
}

/** The transaction type of a database's `transaction` callback. */
export type TransactionOf<DB> = DB extends { transaction(callback: (tx: infer TX) => unknown, ...rest: never[]): unknown } ? TX : never;

/** The config type of a database's `transaction`. */
export type TransactionConfigOf<DB> = DB extends { transaction(callback: never, config?: infer C): unknown } ? C : never;

/** The extra option of a wrapped database's `transaction`. */
export interface FilesOption {
  /**
   * A unit of work begun before the transaction (`attachments.begin()`), with its uploads done:
   * what synchronous drivers (better-sqlite3) need, since their transaction callbacks cannot
   * await. Absent: a new one.
   */
  files?: UnitOfWork | undefined;
}

/** A Drizzle database whose `transaction` also finishes a unit of work, and always returns a promise. */
export type AttachmentsDatabase<DB extends TransactionRunner> = Omit<DB, 'transaction'> & {
  /**
   * Drizzle's `transaction`, bound to a unit of work ({@link filesOf}`(tx)`): committed with the
   * transaction, rolled back when the callback throws, abandoned (nothing deleted) when the commit
   * itself fails.
   */
  transaction<T>(callback: (tx: TransactionOf<DB>) => T, config?: (TransactionConfigOf<DB> & FilesOption) | FilesOption): Promise<Awaited<T>>;
};

const bindings = new WeakMap<object, UnitOfWork>();

/**
 * The unit of work of a transaction of a database wrapped with {@link withAttachments} (a nested
 * transaction has its own, which joins its parent's when the savepoint is released).
 */
export function filesOf(tx: object): UnitOfWork {
  const work = bindings.get(tx);
  if (!work) throw new InvalidArgumentError('this transaction has no unit of work: open it with db.transaction() of a database wrapped with withAttachments()');
  return work;
}

type AnyRunner = { transaction(callback: (tx: object) => unknown, config?: unknown): unknown };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function ignore(): void {}

/** A savepoint: its unit of work joins the parent's when released and is dropped when rolled back; sync stays sync. */
function nestedTransaction(target: AnyRunner, parent: UnitOfWork, callback: (tx: object) => unknown, config: unknown): unknown {
  const child = parent.savepoint();
  let result: unknown;
  try {
    result = target.transaction((tx) => callback(bind(tx, child)), config);
  } catch (error) {
    child.rollback().catch(ignore);
    throw error;
  }
  if (!isThenable(result)) {
    child.commit().catch(ignore);
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      child.commit().catch(ignore);
      return value;
    },
    (error: unknown) => {
      child.rollback().catch(ignore);
      throw error;
    },
  );
}

function bind<TX extends object>(tx: TX, work: UnitOfWork): TX {
  const proxy = new Proxy(tx, {
    get(target, property, receiver) {
      if (property === 'transaction') {
        return (callback: (tx: object) => unknown, config?: unknown) => nestedTransaction(target as unknown as AnyRunner, work, callback, config);
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  bindings.set(proxy, work);
  return proxy;
}

/**
 * Wraps a Drizzle database (any dialect, any driver) so that each `transaction` carries a unit of
 * work. Everything else passes through unchanged.
 *
 * With an asynchronous driver (node-postgres, mysql2, libSQL, ...) upload inside the callback. With
 * better-sqlite3, whose transactions are synchronous, upload first and pass the unit of work:
 *
 * @example
 * ```ts
 * const files = attachments.begin()
 * const avatar = await files.upload('avatars', file, { entity: { model: 'users', id, field: 'avatar' } })
 * await db.transaction((tx) => {
 *   tx.insert(users).values({ id, avatar }).run()
 * }, { files })
 * ```
 */
export function withAttachments<DB extends TransactionRunner>(db: DB, attachments: Attachments): AttachmentsDatabase<DB> {
  const runner = db as unknown as AnyRunner;
  if (typeof runner?.transaction !== 'function') throw new InvalidArgumentError('withAttachments needs a Drizzle database (an object with a transaction method)');
  const transaction = (callback: (tx: object) => unknown, config?: Record<string, unknown> & FilesOption): Promise<unknown> => {
    const { files, ...rest } = config ?? {};
    if (files !== undefined && !(files instanceof UnitOfWork)) throw new InvalidArgumentError('files must be a unit of work from attachments.begin()');
    if (files !== undefined && files.attachments !== attachments) throw new InvalidArgumentError('files belongs to another Attachments instance');
    if (files !== undefined && files.state !== 'open') throw new InvalidArgumentError(`files is ${files.state} already: begin a new unit of work for each transaction`);
    const work = files ?? attachments.begin();
    const driverConfig = Object.keys(rest).length > 0 ? rest : undefined;
    return runInTransaction(work, (body: (tx: object) => unknown) => runner.transaction(body, driverConfig), (tx: object) => callback(bind(tx, work)));
  };
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'transaction') return transaction;
      return Reflect.get(target, property, receiver) as unknown;
    },
  }) as unknown as AttachmentsDatabase<DB>;
}
