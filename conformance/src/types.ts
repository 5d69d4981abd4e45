/**
 * The shapes shared by the cases, the runner-agnostic runner and the vitest binding.
 *
 * @module
 */
import type { Capabilities, CapabilityName, Store } from '@stowage/core';

/** The case groups, in the order they run. */
export const GROUP_NAMES = [
  'health',
  'keys',
  'bodies',
  'range',
  'metadata',
  'listing',
  'delete',
  'copy-move',
  'conditional',
  'atomicity',
  'hierarchy',
  'signed-url',
  'sweep',
  'other-writers',
] as const;

/** One of the case groups, such as `'range'`. */
export type GroupName = (typeof GROUP_NAMES)[number];

/** Options that tune the suite to a backend without changing what it checks. */
export interface SuiteOptions {
  /**
   * The size that separates "small" from "chunked" bodies, in bytes (default 1 MiB = 1048576). Bodies
   * of exactly this size and of one byte more are written, and range reads cross this boundary. Set it
   * to the backend's part or chunk size so that the boundary the backend cares about is the one tested.
   */
  chunkSize?: number | undefined;
  /** The size of the one large streamed body, in bytes (default 20 MiB). */
  largeSize?: number | undefined;
  /** Per-case time limit in milliseconds (default 30 s; cases that move large bodies get four times this). */
  timeout?: number | undefined;
  /** Delete what each case wrote when it ends (default true). Turn off to inspect a server after a run. */
  cleanup?: boolean | undefined;
}

/** {@link SuiteOptions} with every default applied. */
export interface ResolvedSuiteOptions {
  readonly chunkSize: number;
  readonly largeSize: number;
  readonly timeout: number;
  readonly cleanup: boolean;
}

/**
 * What a case gets: a store of its own, under a random prefix nobody else uses, so that suites and
 * cases can run side by side on one server.
 */
export interface CaseContext {
  /** A fresh, empty store rooted under this case's own random prefix (`t-<random>/`). */
  readonly store: Store;
  /** The capabilities the backend declares. */
  readonly capabilities: Capabilities;
  /** The suite options, defaults applied. */
  readonly options: ResolvedSuiteOptions;
  /**
   * A store on the same backend and root whose backend calls are recorded, to prove that an operation
   * was refused before any I/O. `calls` lists the backend methods called, in order.
   */
  recording(): { store: Store; calls: string[] };
  /**
   * Another fresh store whose prefix shares this case's prefix as a string prefix (`t-<random>-x/`),
   * to prove that a store never sees keys outside its root. Cleaned up with the case.
   */
  sibling(): Store;
  /**
   * The fixture's other writer, bound to this case's store: it takes keys as the case's store sees
   * them. Present only where the factory supplied one (the `other-writers` group needs it).
   */
  readonly otherWriter?: OtherWriter | undefined;
}

/**
 * Another program writing the same table, bucket or folder without going through stowage: plain SQL
 * (the statements the Python `remote_store` backend issues), the bare SDK of a cloud service, the
 * filesystem. An adapter's test fixture supplies one with its store (see {@link StoreFactoryResult})
 * and the `other-writers` group writes beside stowage with it.
 *
 * Keys are given as the backend receives them (the store's root included); the fixture maps them
 * onto the table, bucket or folder the way its adapter does (a bucket prefix, a base folder).
 */
export interface OtherWriter {
  /** What it is, for reports: `'plain SQL (remote_store)'`, `'the bare AWS SDK'`. */
  readonly name: string;
  /**
   * Whether {@link OtherWriter.write} stores user metadata the way that program does (so that
   * stowage must read it back exactly): `true` for any Unicode value, `'latin-1'` for values of
   * characters up to U+00FF only (the bare JavaScript SDKs: Node's header check refuses the others).
   */
  readonly metadata?: boolean | 'latin-1' | undefined;
  /** Creates or overwrites `key` with `body` (and `metadata`, where {@link OtherWriter.metadata}), as that program does. */
  write(key: string, body: Uint8Array, options?: { metadata?: Record<string, string> | undefined }): Promise<void>;
  /** Deletes `key` as that program does; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Copies `from` to `to` as that program does (a server-side copy, `INSERT … SELECT`, a file copy). */
  copy(from: string, to: string): Promise<void>;
  /** Releases what the writer opened; called with the factory's teardown. */
  close?(): Promise<void>;
}

/**
 * When a case applies: only where its capability is declared (truthy, or non-null for
 * `maxObjectSize`), or only where it is not (the refusal checks). Without it the case always runs.
 */
export type CaseRequirement = 'declared' | 'undeclared';

/**
 * What a case needs of the fixture besides the store: `'other-writer'` (the factory supplied an
 * {@link OtherWriter}), `'other-writer-metadata'` (one that writes user metadata, on a backend that
 * stores it). Where the fixture lacks it the case does not apply, and the report says why.
 */
export type FixtureRequirement = 'other-writer' | 'other-writer-metadata';

/** One conformance case, as data: the runner decides where and how it runs. */
export interface ConformanceCase {
  /** A stable id, `<group>/<name>`: what reports and overrides refer to. */
  readonly id: string;
  /** The group the case belongs to. */
  readonly group: GroupName;
  /** What the case proves, in a sentence. */
  readonly name: string;
  /** The capability this case verifies: it counts towards that capability's observed value. */
  readonly capability?: CapabilityName | undefined;
  /** Run only where {@link ConformanceCase.capability} is declared, or only where it is not. */
  readonly requires?: CaseRequirement | undefined;
  /** What the case needs of the fixture besides the store. */
  readonly needs?: FixtureRequirement | undefined;
  /** Moves large bodies: gets four times the normal time limit. */
  readonly slow?: boolean | undefined;
  /** The check itself. Throws (an `AssertionError` or the unexpected error) when the backend breaks the contract. */
  run(context: CaseContext): Promise<void>;
}

/**
 * Named, documented gaps of one server: `{ 'conditional': 'fake-gcs-server ignores preconditions' }`.
 * A key is a case id, a group name, or an id prefix ending before a `/` (`'bodies/node-readable'`
 * covers `'bodies/node-readable/0'`). Matching cases are reported as "not verifiable on this server:
 * <reason>", never silently dropped. A key that matches no case is an error, so that a typo cannot
 * hide a gap.
 */
export type Overrides = Readonly<Record<string, string>>;

/** What a factory returns: a store, or a store and how to release what the factory opened. */
export type StoreFactoryResult =
  | Store
  | {
      store: Store;
      teardown?: (() => void | Promise<void>) | undefined;
      /** Another program on the same storage, for the `other-writers` group (its `close` runs before `teardown`). */
      otherWriter?: OtherWriter | undefined;
    };

/** Creates the store under test. Called once per suite run; the suite roots every case below it. */
export type StoreFactory = () => StoreFactoryResult | Promise<StoreFactoryResult>;
