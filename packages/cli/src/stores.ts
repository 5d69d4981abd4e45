/**
 * The stores one run of the command opens: each at most once, only when a location needs it, and
 * all closed at the end. It also keeps every secret it met (configuration values, the options each
 * adapter declares secret, URL passwords, the credentials of the environment that the SDKs read, the
 * link secrets), so that every line the command prints can be masked.
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
  type BackendConfig,
  type Store,
  type StowageConfig,
} from '@stowage/core';
import { adapterLoader, adapterModule } from './adapters.ts';
import type { CliStoreConfig, LoadedConfig } from './config.ts';
import { configError } from './failures.ts';
import { INTERNAL_DIRECTORY } from './files.ts';
import { checkBaseUrl, checkSecrets, LINK_BASE_URL_VARIABLE, LINK_SECRET_VARIABLE, splitSecrets } from './links.ts';
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

/**
 * Environment variables that hold credentials the SDKs read themselves (AWS, Azure), and the link
 * secrets: their values are masked in every line the command prints, whichever store is used.
 */
export const SECRET_VARIABLES: readonly string[] = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AZURE_STORAGE_CONNECTION_STRING',
  'AZURE_STORAGE_KEY',
  'AZURE_STORAGE_SAS_TOKEN',
  'AZURE_CLIENT_SECRET',
  LINK_SECRET_VARIABLE,
];

/**
 * A secret and the secrets inside it: the key and the signature of an Azure connection string, each
 * secret of a comma-separated list of link secrets. A message may quote a part without the whole.
 */
function secretParts(value: string): string[] {
  const parts = [value];
  for (const field of value.split(';')) {
    const match = /^\s*(AccountKey|SharedAccessSignature)=(.+)$/i.exec(field);
    if (match) parts.push(match[2]!.trim());
  }
  if (value.includes(',')) parts.push(...splitSecrets(value));
  return parts;
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
    for (const name of SECRET_VARIABLES) {
      const value = env[name];
      if (value) this.#addSecret(value);
    }
  }

  #addSecret(value: string): void {
    for (const part of secretParts(value)) this.#secrets.add(part);
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

  /** The default store as the configured store it names, when the configuration names one. */
  #resolve(ref: StoreRef): StoreRef {
    return ref.kind === 'default' && this.config?.config.default !== undefined ? { kind: 'named', name: this.config.config.default } : ref;
  }

  /** The store a location refers to, opened on first use. */
  store(ref: StoreRef, purpose: OpenPurpose): Promise<Store> {
    const resolved = this.#resolve(ref);
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
    const configured = loaded.config.backends?.[storeConfig.backend];
    // The links of a store are the command's, not the store's: core does not see them.
    const { links: _links, ...coreStore } = storeConfig as CliStoreConfig;
    const pruned: StowageConfig = {
      backends: configured === undefined ? {} : { [storeConfig.backend]: configured },
      stores: { [name]: coreStore },
    };
    const backend: BackendConfig | undefined = configured ?? (storeConfig.backend.includes(':') ? { url: storeConfig.backend } : undefined);
    try {
      const secretOptions = backend === undefined ? [] : await this.#secretOptions(backend);
      for (const secret of findSecrets(substituteEnv(pruned, this.#env), secretOptions)) this.#addSecret(secret);
    } catch (error) {
      if (isStowageError(error, 'INVALID_ARGUMENT')) throw configError(`${loaded.path}: store '${name}': ${error.message}`, { cause: error });
      throw error;
    }
    const { stores, closeAll } = await openStores(pruned, { load: adapterLoader(this.#cwd), env: this.#env });
    return { store: stores[name]!, close: closeAll };
  }

  /**
   * The option names the backend's adapter declares secret (`connectionString`, `credentials`, ...),
   * beyond the names that look secret: loaded from the adapter, which the store opens next anyway.
   * An adapter that cannot be loaded declares none here; opening the store reports why.
   */
  async #secretOptions(backend: BackendConfig): Promise<readonly string[]> {
    const specifier = adapterModule(backend);
    if (specifier === undefined) return [];
    try {
      const module = (await adapterLoader(this.#cwd)(specifier)) as { adapter?: { secretOptions?: unknown } };
      const names = module.adapter?.secretOptions;
      return Array.isArray(names) ? names.filter((entry): entry is string => typeof entry === 'string') : [];
    } catch {
      return [];
    }
  }

  /**
   * The link secrets of `stowage serve` and `stowage sign`: the configuration's `links.secrets`, else
   * `$STOWAGE_LINK_SECRET` (comma-separated; the first signs), checked; undefined when neither is set.
   */
  linkSecrets(): string[] | undefined {
    const configured = this.config?.config.links?.secrets;
    if (configured !== undefined) {
      const source = `${this.config!.path}: links.secrets`;
      let values: string | string[];
      try {
        values = substituteEnv(configured, this.#env);
      } catch (error) {
        if (isStowageError(error, 'INVALID_ARGUMENT')) throw configError(`${source}: ${error.message}`, { cause: error });
        throw error;
      }
      const secrets = (typeof values === 'string' ? [values] : values).flatMap(splitSecrets);
      for (const secret of secrets) this.#addSecret(secret);
      return checkSecrets(secrets, source);
    }
    const value = this.#env[LINK_SECRET_VARIABLE];
    if (!value) return undefined;
    return checkSecrets(splitSecrets(value), `$${LINK_SECRET_VARIABLE}`);
  }

  /**
   * Where clients reach the server of a store, for its links: `option` (`--base-url`), else the
   * store's `links.baseUrl` in the configuration, else `$STOWAGE_LINK_BASE_URL`; undefined when none.
   */
  linkBaseUrl(ref: StoreRef, option?: string | undefined): string | undefined {
    if (option !== undefined) return checkBaseUrl(option, '--base-url', 'option');
    const resolved = this.#resolve(ref);
    if (resolved.kind === 'named') {
      const configured = (this.config?.config.stores?.[resolved.name] as CliStoreConfig | undefined)?.links?.baseUrl;
      if (configured !== undefined) {
        const source = `${this.config!.path}: stores.${resolved.name}.links.baseUrl`;
        try {
          return checkBaseUrl(substituteEnv(configured, this.#env), source, 'config');
        } catch (error) {
          if (isStowageError(error, 'INVALID_ARGUMENT')) throw configError(`${source}: ${error.message}`, { cause: error });
          throw error;
        }
      }
    }
    const value = this.#env[LINK_BASE_URL_VARIABLE];
    return value ? checkBaseUrl(value, `$${LINK_BASE_URL_VARIABLE}`, 'env') : undefined;
  }

  /** Closes every store opened in this run. */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0);
    await Promise.allSettled(closers.map((close) => close()));
  }
}
