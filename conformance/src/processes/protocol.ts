/**
 * What the cross-process checks and their child processes say to each other: one JSON object per
 * line, commands on the child's stdin, answers and events on its stdout.
 *
 * @module
 */

/**
 * How a child process opens the store under test. It must be JSON (it travels on the command
 * line), and every process that opens it must reach the same storage.
 *
 * - `{ url }`: `openStore(url)` of `@stowage/core`, whose default loader imports the adapter
 *   package for the URL's scheme (it must be resolvable from `@stowage/core`, as for any
 *   `openStore`): `file:/tmp/root`, `sqlite:/tmp/store.db?tableName=t`, `postgres://…`.
 * - `{ module, options }`: a module (a file path, absolute or relative to the working directory, or
 *   a `file:` URL) exporting `openStore(options)` (or a default function) that resolves to a
 *   `Store`, or to `{ store, teardown }`. For adapters that are not opened from a URL.
 */
export type ChildStore = { url: string } | { module: string; options?: unknown };

/** A command to a child process. */
export type Command = { id: number } & (
  | { op: 'open' }
  | { op: 'create'; key: string; content: string }
  | { op: 'stat'; key: string }
  | { op: 'cas'; key: string; etag: string; content: string }
  | { op: 'increment'; key: string; times: number; attempts: number }
  | { op: 'write-large'; key: string; size: number; seed: number; pieceSize: number }
);

/** The answer to a command. */
export interface Answer {
  id: number;
  ok: boolean;
  etag?: string | undefined;
  /** The stowage error code of a failed command (`UNEXPECTED` for anything else). */
  code?: string | undefined;
  message?: string | undefined;
  /** `increment`: the values this process wrote, in order. */
  written?: number[] | undefined;
  /** `increment`: the writes refused with PRECONDITION_FAILED and tried again. */
  conflicts?: number | undefined;
  /** `write-large`: milliseconds from the start of the write to its end. */
  ms?: number | undefined;
  /** `write-large`: milliseconds from the body's last byte to the end of the write (the commit). */
  commitMs?: number | undefined;
}

/**
 * What a child says besides answers: `ready` once it has loaded its modules, `writing` when a
 * large write starts (its store is open), `body-end` when the store has taken the body's last byte.
 */
export interface ChildEvent {
  event: 'ready' | 'writing' | 'body-end';
  id?: number | undefined;
}
