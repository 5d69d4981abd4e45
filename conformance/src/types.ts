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
}

/**
 * When a case applies: only where its capability is declared (truthy, or non-null for
 * `maxObjectSize`), or only where it is not (the refusal checks). Without it the case always runs.
 */
export type CaseRequirement = 'declared' | 'undeclared';

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
export type StoreFactoryResult = Store | { store: Store; teardown?: (() => void | Promise<void>) | undefined };

/** Creates the store under test. Called once per suite run; the suite roots every case below it. */
export type StoreFactory = () => StoreFactoryResult | Promise<StoreFactoryResult>;
