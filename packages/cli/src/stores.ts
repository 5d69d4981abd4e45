/**
 * The stores one run of the command opens: each at most once, only when a location needs it, and
 * all closed at the end. It also keeps every secret it met (configuration values, URL passwords), so
 * that every line the command prints can be masked.
 *
 * @module
 */
import { access, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  findSecrets,
  isStowageError,
  maskSecrets,
  openStore,
  openStores,
  substituteEnv,
  type Store,
  type StowageConfig,
} from '@stowage/core';
import { adapterLoader } from './adapters.ts';
import type { LoadedConfig } from './config.ts';
import { configError } from './failures.ts';
import { INTERNAL_DIRECTORY } from './files.ts';
import { parseLocation, type Location, type StoreRef } from './locations.ts';

/** The embedded store's database file, relative to the working directory. */
export const EMBEDDED_STORE_PATH = `${INTERNAL_DIRECTORY}/store.db`;

/** A store URL for a SQLite file path (the registry percent-decodes `sqlite:` paths). */
function sqliteUrl(path: string): string {
  return `sqlite:${pathToFileURL(path).pathname}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function withCloser(store: Store): { store: Store; close: () => Promise<void> } {
  return { store, close: () => store.close() };
}

/** What {@link Session.store} opens a store for. */
export interface OpenPurpose {
  /**
   * Whether the command may write. A read-only command never creates the embedded store: when its
   * database file does not exist yet, it sees an empty store instead.
   */
  write: boolean;
}

/** One run's stores and secrets. */
export class Session {
  /** The configuration in use, if any. */
  readonly config: LoadedConfig | undefined;
  readonly #cwd: string;
  readonly #env: Record<string, string | undefined>;
  readonly #opened = new Map<string, Promise<Store>>();
  readonly #closers: (() => Promise<void>)[] = [];
  readonly #secrets = new Set<string>();

  constructor(config: LoadedConfig | undefined, cwd: string, env: Record<string, string | undefined>) {
    this.config = config;
    this.#cwd = cwd;
    this.#env = env;
  }

  /** The working directory locations are resolved against. */
  get cwd(): string {
    return this.#cwd;
  }

  /** Parses a location against the configuration's store names; masks URL passwords from now on. */
  parse(text: string): Location {
    for (const secret of findSecrets(text)) this.#secrets.add(secret);
    return parseLocation(text, { cwd: this.#cwd, storeNames: this.config?.storeNames ?? new Set() });
  }

  /** Replaces every secret seen so far in `text` with `***`. */
  mask(text: string): string {
    return maskSecrets(text, this.#secrets);
  }

  /** The embedded store's database file (absolute). */
  get embeddedPath(): string {
    return join(this.#cwd, EMBEDDED_STORE_PATH);
  }

  /** The store a location refers to, opened on first use. */
  store(ref: StoreRef, purpose: OpenPurpose): Promise<Store> {
    const resolved: StoreRef = ref.kind === 'default' && this.config?.config.default !== undefined ? { kind: 'named', name: this.config.config.default } : ref;
    const identity = resolved.kind === 'url' ? `url:${resolved.url}` : resolved.kind === 'named' ? `named:${resolved.name}` : 'default';
    // A read-only open of a missing embedded store is kept apart: a later write must create the real one.
    const cached = this.#opened.get(identity) ?? (purpose.write ? undefined : this.#opened.get(`${identity}:absent`));
    if (cached) return cached;
    return this.#open(resolved, purpose, identity);
  }

  async #open(ref: StoreRef, purpose: OpenPurpose, identity: string): Promise<Store> {
    const load = adapterLoader(this.#cwd);
    if (ref.kind === 'url') return this.#track(identity, async () => withCloser(await openStore(ref.url, { load, env: this.#env })));
    if (ref.kind === 'named') return this.#track(identity, () => this.#openNamed(ref.name));
    const path = this.embeddedPath;
    if (!purpose.write && !(await exists(path))) {
      // Nothing stored yet: an empty in-memory database answers like the store that would be created.
      return this.#track(`${identity}:absent`, async () => withCloser(await openStore('sqlite::memory:', { load })));
    }
    return this.#track(identity, async () => {
      await mkdir(dirname(path), { recursive: true });
      return withCloser(await openStore(sqliteUrl(path), { load }));
    });
  }

  #track(identity: string, open: () => Promise<{ store: Store; close: () => Promise<void> }>): Promise<Store> {
    const opening = open().then(({ store, close }) => {
      this.#closers.push(close);
      return store;
    });
    this.#opened.set(identity, opening);
    opening.catch(() => this.#opened.delete(identity));
    return opening;
  }

  /** Opens one configured store, substituting `${ENV}` only in what it uses, so an unset variable of another backend does not matter. */
  async #openNamed(name: string): Promise<{ store: Store; close: () => Promise<void> }> {
    const loaded = this.config;
    const storeConfig = loaded?.config.stores?.[name];
    if (!loaded || !storeConfig) throw configError(`the configuration has no store '${name}'`);
    const backend = loaded.config.backends?.[storeConfig.backend];
    const pruned: StowageConfig = {
      backends: backend === undefined ? {} : { [storeConfig.backend]: backend },
      stores: { [name]: storeConfig },
    };
    try {
      for (const secret of findSecrets(substituteEnv(pruned, this.#env))) this.#secrets.add(secret);
    } catch (error) {
      if (isStowageError(error, 'INVALID_ARGUMENT')) throw configError(`${loaded.path}: store '${name}': ${error.message}`, { cause: error });
      throw error;
    }
    const { stores, closeAll } = await openStores(pruned, { load: adapterLoader(this.#cwd), env: this.#env });
    return { store: stores[name]!, close: closeAll };
  }

  /** Closes every store opened in this run. */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0);
    await Promise.allSettled(closers.map((close) => close()));
  }
}
