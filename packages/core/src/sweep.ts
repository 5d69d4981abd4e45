/**
 * The maintenance sweep: what failed or abandoned writes left behind (temporary files, dead locks,
 * staged chunks, unfinished multipart uploads), found and reclaimed the same way on every backend.
 *
 * A backend implements `sweep` (optional) and builds its result with a {@link SweepTally}, which
 * keeps the counts, honours `dryRun` and bounds the list of items; `Store.sweep` validates the
 * options and turns the result into a {@link SweepReport}.
 *
 * @module
 */

/**
 * A kind of leftover. The adapters of this repository use the named ones; the type is open, so that
 * an adapter (or a later feature, such as the staged parts of direct uploads) can report its own.
 */
export type SweepKind =
  /** local: a body being written to a temporary file, never renamed into place. */
  | 'temporary-file'
  /** local: a per-key lock file (or a lock being created) whose owner is gone. */
  | 'lock'
  /** sql-blob: chunk rows of a version no object points at. */
  | 'chunks'
  /** local: the metadata record of a version that is no longer at its key. */
  | 'metadata-record'
  /** s3: a multipart upload that was never completed nor aborted. */
  | 'multipart-upload'
  /** azure: blocks staged on a name and never committed. */
  | 'uncommitted-blocks'
  /** gcs: a resumable upload session never finished. */
  | 'resumable-session'
  | (string & {});

/** One leftover a sweep found. */
export interface SweepItem {
  /** What it is. */
  kind: SweepKind;
  /** What names it on the backend: a file name, a chunk version, an upload id. */
  id: string;
  /** The key its write was for (relative to the store that swept), when the backend knows it. */
  key?: string | undefined;
  /** The bytes it holds, when known. */
  size?: number | undefined;
  /** When it was created or last written, when known. */
  modified?: Date | undefined;
  /**
   * Why it counts as abandoned: `'owner-gone'` when its writer is known to have stopped (a process
   * of this machine that no longer runs), `'orphan'` when it belongs to no object and to no write in
   * progress (checked under the key's lock, or in the same transaction), `'age'` when it is older
   * than `olderThanMs` (or than the backend's own rule for it, such as a lock's staleness).
   */
  reason: 'owner-gone' | 'orphan' | 'age';
  /** Whether this sweep removed it: false in a dry run, when it vanished meanwhile, or when removing failed (see `error`). */
  removed: boolean;
  /** Why removing it failed, when it did. */
  error?: string | undefined;
}

/** What a sweep found of one kind of leftover: reported for every kind the backend looks for, also when none was found. */
export interface SweepKindSummary {
  kind: SweepKind;
  /** What this kind is, in a few words. */
  description: string;
  /** How many were found abandoned. */
  found: number;
  /** How many of those this sweep removed. */
  removed: number;
  /** The bytes the found ones hold (of those whose size is known). */
  bytes: number;
  /**
   * Set when this backend cannot reclaim this kind: why, and what becomes of them instead (Azure's
   * uncommitted blocks, GCS's upload sessions). `found` is then what the sweep could see, often 0.
   */
  unreclaimable?: string | undefined;
}

/** What a backend's `sweep` returns. */
export interface SweepResult {
  /** One summary per kind the backend looks for, in a stable order. */
  kinds: SweepKindSummary[];
  /** The leftovers found, at most {@link SWEEP_ITEM_LIMIT} (the summaries count them all). */
  items: SweepItem[];
  /** More leftovers were found than `items` lists. */
  truncated: boolean;
  /** What else an operator should know: why there is nothing to reclaim, what was left alone. */
  notes: string[];
}

/** What `store.sweep()` reports. */
export interface SweepReport extends SweepResult {
  /** The backend that was swept. */
  backend: string;
  /** Nothing was removed: the report says what would have been. */
  dryRun: boolean;
  /** The age beyond which a leftover whose writer cannot be checked counted as abandoned. */
  olderThanMs: number;
  /** Leftovers found, over every kind. */
  found: number;
  /** Leftovers removed, over every kind. */
  removed: number;
  /** Bytes the leftovers found hold, over every kind. */
  bytes: number;
}

/** Options of `store.sweep()`. */
export interface SweepOptions {
  /**
   * Leftovers whose writer may still be running are kept until they are this many milliseconds old
   * (default {@link DEFAULT_SWEEP_AGE_MS}, a day). Those whose writer is known to be gone are
   * reclaimed at once. `0` takes everything unfinished, including writes in progress elsewhere.
   */
  olderThanMs?: number | undefined;
  /** Find and report, remove nothing (default false). */
  dryRun?: boolean | undefined;
  /** Stops the sweep between steps (`ABORTED`); what it removed so far stays removed. */
  signal?: AbortSignal | undefined;
  /** Fails the sweep with `UNAVAILABLE` after this many milliseconds (the store's `timeoutMs` when absent). */
  timeoutMs?: number | undefined;
}

/** The default `olderThanMs` of a sweep: a day, longer than any upload still in progress is likely to take. */
export const DEFAULT_SWEEP_AGE_MS = 24 * 60 * 60 * 1000;

/** At most this many items are listed in a sweep's result; the summaries count every one. */
export const SWEEP_ITEM_LIMIT = 1000;

/** A kind of leftover a backend looks for, as it declares it to a {@link SweepTally}. */
export interface SweepKindDeclaration {
  kind: SweepKind;
  description: string;
  unreclaimable?: string | undefined;
}

/**
 * Builds a backend's {@link SweepResult}: declare the kinds looked for, then hand each leftover to
 * {@link SweepTally.reclaim}, which removes it unless this is a dry run and counts it either way.
 *
 * @example
 * ```ts
 * const tally = new SweepTally(options, [{ kind: 'temporary-file', description: 'bodies of writes that never finished' }])
 * for (const file of abandoned) await tally.reclaim({ kind: 'temporary-file', id: file.name, size: file.size, reason: 'owner-gone' }, () => unlink(file.path))
 * return tally.result()
 * ```
 */
export class SweepTally {
  readonly #dryRun: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #kinds = new Map<SweepKind, SweepKindSummary>();
  readonly #items: SweepItem[] = [];
  readonly #notes: string[] = [];
  #truncated = false;

  constructor(options: { dryRun: boolean; signal?: AbortSignal | undefined }, kinds: readonly SweepKindDeclaration[]) {
    this.#dryRun = options.dryRun;
    this.#signal = options.signal;
    for (const { kind, description, unreclaimable } of kinds) {
      this.#kinds.set(kind, { kind, description, found: 0, removed: 0, bytes: 0, ...(unreclaimable === undefined ? {} : { unreclaimable }) });
    }
  }

  /** Whether nothing is removed. */
  get dryRun(): boolean {
    return this.#dryRun;
  }

  /** Adds a note to the result. */
  note(text: string): void {
    this.#notes.push(text);
  }

  /**
   * Counts one abandoned leftover and, unless this is a dry run, removes it with `remove`. `remove`
   * resolves to `false` when the leftover was gone already (its writer finished or another sweep
   * took it): it is then not counted at all. A failing `remove` is recorded on the item, not thrown.
   * Throws the signal's reason when the sweep was aborted.
   */
  async reclaim(item: Omit<SweepItem, 'removed' | 'error'>, remove: () => Promise<boolean | void>): Promise<void> {
    this.#signal?.throwIfAborted();
    let removed = false;
    let error: string | undefined;
    if (!this.#dryRun) {
      try {
        if ((await remove()) === false) return;
        removed = true;
      } catch (cause) {
        error = cause instanceof Error ? cause.message : String(cause);
      }
    }
    let summary = this.#kinds.get(item.kind);
    if (!summary) {
      summary = { kind: item.kind, description: item.kind, found: 0, removed: 0, bytes: 0 };
      this.#kinds.set(item.kind, summary);
    }
    summary.found++;
    if (removed) summary.removed++;
    summary.bytes += item.size ?? 0;
    if (this.#items.length < SWEEP_ITEM_LIMIT) this.#items.push({ ...item, removed, ...(error === undefined ? {} : { error }) });
    else this.#truncated = true;
  }

  /** The result to return from `sweep`. */
  result(): SweepResult {
    return { kinds: [...this.#kinds.values()], items: this.#items, truncated: this.#truncated, notes: this.#notes };
  }
}
