/**
 * Opening stores from a URL or a config object. Core maps a scheme (or a config `type`) to an adapter
 * package and imports it only when used; a missing package is an error that names what to install.
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import type { AdapterDefinition, Backend, ModuleLoader } from './backend.ts';
import { assertCapabilities } from './capabilities.ts';
import { checkKnownFields, checkOptions, describeValue, isPlainObject } from './arguments.ts';
import { InvalidArgumentError, StowageError, isStowageError } from './errors.ts';
import { resolveRetryPolicy } from './retry.ts';
import { collectSecrets, maskSecrets, maskUrl } from './secrets.ts';
import { Store, type StoreOptions } from './store.ts';
import { concurrencyLimitLayer, rateLimitLayer } from './layers/limits.ts';
import { faultLayer } from './layers/faults.ts';
import type { Layer } from './layers/layer.ts';
import { loggingLayer, type LoggingOptions } from './layers/logging.ts';
import { checkTimeout } from './timeouts.ts';

export type { ModuleLoader };

interface Registration {
  /** The package (or module) that exports `adapter`. */
  module: string;
  /** An already loaded definition (from `registerAdapter`). */
  definition?: AdapterDefinition<never>;
}

const SCHEMES = new Map<string, Registration>([
  ['memory', { module: '@stowage/memory' }],
  ['file', { module: '@stowage/local' }],
  ['sqlite', { module: '@stowage/sql-blob' }],
  ['postgres', { module: '@stowage/sql-blob' }],
  ['postgresql', { module: '@stowage/sql-blob' }],
  ['mysql', { module: '@stowage/sql-blob' }],
  ['mariadb', { module: '@stowage/sql-blob' }],
  ['s3', { module: '@stowage/s3' }],
  ['gs', { module: '@stowage/gcs' }],
  ['az', { module: '@stowage/azure' }],
  ['azure', { module: '@stowage/azure' }],
]);

const TYPES = new Map<string, Registration>([
  ['memory', { module: '@stowage/memory' }],
  ['local', { module: '@stowage/local' }],
  ['sql-blob', { module: '@stowage/sql-blob' }],
  ['sqlite', { module: '@stowage/sql-blob' }],
  ['postgres', { module: '@stowage/sql-blob' }],
  ['mysql', { module: '@stowage/sql-blob' }],
  ['s3', { module: '@stowage/s3' }],
  ['gcs', { module: '@stowage/gcs' }],
  ['azure', { module: '@stowage/azure' }],
]);

/**
 * Registers an adapter for URL schemes and a config `type`, either as a loaded definition or as a
 * module specifier to import on first use. Third-party adapters use this.
 */
export function registerAdapter(definition: AdapterDefinition<never> | { name: string; schemes: readonly string[]; module: string }): void {
  if (!isPlainObject(definition as unknown)) throw new InvalidArgumentError(`registerAdapter takes an adapter definition or { name, schemes, module }, got ${describeValue(definition)}`);
  if (typeof definition.name !== 'string' || definition.name === '') throw new InvalidArgumentError('registerAdapter: the definition needs a name (the configuration type)');
  if (!Array.isArray(definition.schemes) || definition.schemes.some((scheme) => typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*:?$/i.test(scheme))) {
    throw new InvalidArgumentError(`registerAdapter: the schemes of '${definition.name}' must be a list of URL schemes, such as ['ftp']`);
  }
  const loader = definition as { name: string; module?: unknown; create?: unknown };
  if ('module' in loader ? typeof loader.module !== 'string' || loader.module === '' : typeof loader.create !== 'function') {
    throw new InvalidArgumentError(`registerAdapter: '${loader.name}' needs a create function, or the module to import it from`);
  }
  const registration: Registration =
    'module' in definition ? { module: definition.module } : { module: definition.name, definition };
  for (const scheme of definition.schemes) SCHEMES.set(scheme.replace(/:$/, ''), registration);
  TYPES.set(definition.name, registration);
}

/**
 * Replaces `${NAME}` (and `${NAME:-default}`) in every string of `value` with the environment
 * variable's value; `InvalidArgumentError` naming the variable when it is unset and has no default.
 * `$${` stands for a literal `${`.
 */
export function substituteEnv<T>(value: T, env: Record<string, string | undefined> = process.env): T {
  if (typeof value === 'string') {
    return value.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (match, name: string, fallback: string | undefined) => {
      if (match.startsWith('$$')) return match.slice(1);
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new InvalidArgumentError(`configuration refers to the environment variable ${name}, which is not set`);
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item) => substituteEnv(item, env)) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = substituteEnv(child, env);
    return out as T;
  }
  return value;
}

/** One backend in a configuration: its adapter `type` (or a `url`) and the adapter's options. */
export interface BackendConfig {
  /** The adapter: `local`, `memory`, `sql-blob`, `s3`, `gcs`, `azure`, a registered name, or a package name. */
  type?: string | undefined;
  /** A store URL instead of `type` + `options`. */
  url?: string | undefined;
  /** The adapter's options. */
  options?: Record<string, unknown> | undefined;
}

/**
 * One layer in a configuration: a built-in `type` (`concurrency-limit`, `rate-limit`, `logging`,
 * `faults`) with that layer's options, `tracing` or `metrics` (from `@stowage/opentelemetry`,
 * imported only then), or a package (or module path) whose `createLayer(options)` export makes the
 * layer.
 */
export interface LayerConfig {
  /** The built-in layer's name, or the module that exports `createLayer`. */
  type: string;
  /** The layer's options. For `logging`, `logger` may be the string `'console'`. */
  options?: Record<string, unknown> | undefined;
}

/** One named store: the backend it lives on, its root, limits and layers. */
export interface StoreConfig extends Omit<StoreOptions, 'layers'> {
  /** The name of a backend in `backends`, or a store URL. */
  backend: string;
  /** Layers around the backend, the first outermost: configurations or layers themselves. */
  layers?: readonly (LayerConfig | Layer)[] | undefined;
}

// The fields of each part of a configuration: anything else is refused with the closest known name.
const CONFIG_FIELDS: readonly string[] = ['backends', 'stores'];
const BACKEND_FIELDS: readonly string[] = ['type', 'url', 'options'];
// A field added to StoreConfig goes here too.
const STORE_FIELDS: readonly string[] = ['backend', 'root', 'maxSize', 'strictHierarchy', 'retry', 'timeoutMs', 'layers'];
const LAYER_FIELDS: readonly string[] = ['type', 'options'];

const BUILT_IN_LAYERS: Record<string, (options: Record<string, unknown>) => Layer> = {
  'concurrency-limit': (options) => concurrencyLimitLayer(options as never),
  'rate-limit': (options) => rateLimitLayer(options as never),
  logging: (options) => loggingLayer({ ...options, logger: options.logger === 'console' ? console : options.logger } as LoggingOptions),
  faults: (options) => faultLayer(options as never),
};

// Layer types whose package core names but does not depend on: imported only when a configuration uses them.
const MODULE_LAYERS: Record<string, string> = {
  tracing: '@stowage/opentelemetry/tracing',
  metrics: '@stowage/opentelemetry/metrics',
};

function isLayer(value: unknown): value is Layer {
  return typeof value === 'object' && value !== null && typeof (value as Layer).wrap === 'function';
}

/** The layers of a store's configuration, made (modules imported) in order. */
async function makeLayers(configs: unknown, store: string, load: ModuleLoader): Promise<Layer[] | undefined> {
  if (configs === undefined) return undefined;
  if (!Array.isArray(configs)) throw new InvalidArgumentError(`the layers of store '${store}' must be a list, got ${describeValue(configs)}`);
  const layers: Layer[] = [];
  for (const [index, config] of configs.entries()) {
    const what = `layer ${index + 1} of store '${store}'`;
    if (isLayer(config)) {
      layers.push(config as Layer);
      continue;
    }
    if (!isPlainObject(config)) throw new InvalidArgumentError(`${what} must be { type, options } or a layer, got ${describeValue(config)}`);
    checkKnownFields(config, LAYER_FIELDS, what);
    const { type, options = {} } = config as { type?: unknown; options?: unknown };
    if (typeof type !== 'string' || type === '') throw new InvalidArgumentError(`${what} needs a type: ${Object.keys(BUILT_IN_LAYERS).join(', ')}, or a module that exports createLayer`);
    if (!isPlainObject(options)) throw new InvalidArgumentError(`the options of ${what} must be an object, got ${describeValue(options)}`);
    const builtIn = BUILT_IN_LAYERS[type];
    if (builtIn) {
      layers.push(builtIn(options));
      continue;
    }
    const specifier = MODULE_LAYERS[type] ?? type;
    if (!/^[@./]/.test(specifier) && !specifier.includes('/')) {
      throw new InvalidArgumentError(`${what} has the unknown type '${type}': use ${[...Object.keys(BUILT_IN_LAYERS), ...Object.keys(MODULE_LAYERS)].join(', ')}, or a module that exports createLayer`);
    }
    const mod = (await loadModule(specifier, what, load)) as { createLayer?: unknown };
    if (typeof mod.createLayer !== 'function') throw new InvalidArgumentError(`${specifier} does not export createLayer(options), so it cannot be ${what}`);
    const layer: unknown = await (mod.createLayer as (options: unknown) => unknown)(options);
    if (!isLayer(layer)) throw new InvalidArgumentError(`createLayer of ${specifier} did not return a layer`);
    layers.push(layer as Layer);
  }
  return layers;
}

/** A configuration with several backends and named stores. */
export interface StowageConfig {
  backends?: Record<string, BackendConfig> | undefined;
  stores?: Record<string, StoreConfig> | undefined;
}

/** Options of {@link openStore}. */
export interface OpenOptions extends StoreOptions {
  /** Imports adapter packages, and the drivers an adapter loads on first use when its own import fails (default: dynamic `import()` from core). Pass `(m) => import(m)` from your own module when your package manager isolates dependencies. */
  load?: ModuleLoader | undefined;
  /** The environment used for `${ENV}` substitution (default `process.env`). */
  env?: Record<string, string | undefined> | undefined;
}

const defaultLoader: ModuleLoader = (specifier) => import(specifier);

/** Imports `specifier`; a missing package is an error that says what needs it and what to install. */
async function loadModule(specifier: string, what: string, load: ModuleLoader): Promise<unknown> {
  try {
    return await load(specifier);
  } catch (cause) {
    const code = (cause as { code?: string } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      const missing = String((cause as Error).message ?? '');
      if (missing.includes(specifier) || !missing.includes("'")) {
        throw new InvalidArgumentError(`${what} needs the package ${specifier}: install it (for example \`npm install ${specifier}\`)`, { cause });
      }
    }
    throw cause;
  }
}

async function loadDefinition(registration: Registration, what: string, load: ModuleLoader): Promise<AdapterDefinition<never>> {
  if (registration.definition) return registration.definition;
  const mod = await loadModule(registration.module, what, load);
  const definition = (mod as { adapter?: AdapterDefinition<never> }).adapter;
  if (!definition || typeof definition.create !== 'function') {
    throw new InvalidArgumentError(`${registration.module} does not export an adapter definition named 'adapter'`);
  }
  return definition;
}

function registrationForType(type: string): Registration {
  return TYPES.get(type) ?? { module: type };
}

async function openBackend(
  config: BackendConfig,
  name: string,
  load: ModuleLoader,
  env: Record<string, string | undefined> | false | undefined,
): Promise<Backend> {
  const secrets = new Set<string>();
  try {
    checkBackendConfig(config, name);
    // `false`: the caller substituted the whole configuration already (substituting twice would expand `$${...}`).
    const resolved = env === false ? config : substituteEnv(config, env);
    let definition: AdapterDefinition<never>;
    let options: Record<string, unknown>;
    if (resolved.url !== undefined) {
      const url = parseStoreUrl(resolved.url);
      collectSecrets(resolved.url, 'url', [], secrets);
      const registration = SCHEMES.get(url.protocol.slice(0, -1));
      if (!registration) throw new InvalidArgumentError(`no adapter is registered for the scheme '${url.protocol}' (backend '${name}')`);
      definition = await loadDefinition(registration, `the ${url.protocol} URL of backend '${name}'`, load);
      if (!definition.optionsFromUrl) throw new InvalidArgumentError(`the ${definition.name} adapter cannot be opened from a URL`);
      options = { ...(definition.optionsFromUrl(url) as Record<string, unknown>), ...resolved.options };
    } else if (resolved.type !== undefined) {
      definition = await loadDefinition(registrationForType(resolved.type), `backend '${name}' of type '${resolved.type}'`, load);
      options = { ...resolved.options };
    } else {
      throw new InvalidArgumentError(`backend '${name}' needs a 'type' or a 'url'`);
    }
    collectSecrets(options, 'options', definition.secretOptions ?? [], secrets);
    const backend = await definition.create(options as never, { load });
    assertCapabilities(backend.capabilities, definition.name);
    return backend;
  } catch (error) {
    throw withMaskedMessage(error, secrets);
  }
}

/** Checks the shape of one backend's configuration (before anything is imported or opened). */
function checkBackendConfig(config: BackendConfig, name: string): void {
  if (!isPlainObject(config)) throw new InvalidArgumentError(`backend '${name}' must be an object with a type or a url, got ${describeValue(config)}`);
  checkKnownFields(config, BACKEND_FIELDS, `backend '${name}'`);
  if (config.url !== undefined && typeof config.url !== 'string') throw new InvalidArgumentError(`the url of backend '${name}' must be a string, got ${describeValue(config.url)}`);
  if (config.type !== undefined && (typeof config.type !== 'string' || config.type === '')) throw new InvalidArgumentError(`the type of backend '${name}' must be an adapter name, got ${describeValue(config.type)}`);
  if (config.options !== undefined && !isPlainObject(config.options)) throw new InvalidArgumentError(`the options of backend '${name}' must be an object, got ${describeValue(config.options)}`);
}

function withMaskedMessage(error: unknown, secrets: Set<string>): unknown {
  if (!(error instanceof Error)) return error;
  const masked = maskSecrets(error.message, secrets);
  if (masked === error.message) return error;
  if (isStowageError(error)) {
    const copy = new StowageError((error as StowageError).code, masked, {
      key: (error as StowageError).key,
      backend: (error as StowageError).backend,
    });
    return copy;
  }
  return new Error(masked);
}

function parseStoreUrl(text: string): URL {
  try {
    // `file:./data` is relative to the working directory; parsed alone, WHATWG URL rules turn it into
    // `file:///data`, and the adapter could no longer tell it from an absolute path.
    if (/^file:/i.test(text)) return new URL(text, pathToFileURL(`${process.cwd()}/`));
    return new URL(text);
  } catch (cause) {
    throw new InvalidArgumentError(`not a store URL: ${JSON.stringify(maskUrl(text))}`, { cause });
  }
}

/**
 * Opens a store from a URL (`memory://`, `file:./data`, `sqlite:./store.db`, `s3://bucket/prefix`, ...)
 * or a backend config. The adapter package is imported only now; when it is not installed, the error
 * names the package to install.
 *
 * @example
 * ```ts
 * const store = await openStore('file:./data')
 * await store.write('notes/hello.txt', 'Hello!')
 * ```
 */
export async function openStore(source: string | URL | BackendConfig, options?: OpenOptions): Promise<Store> {
  if (typeof source !== 'string' && !(source instanceof URL) && !isPlainObject(source)) {
    throw new InvalidArgumentError(`openStore takes a store URL (such as 'file:./data' or 'memory://') or a backend configuration ({ type, options } or { url }), got ${describeValue(source)}`);
  }
  options = checkOptions(options, 'openStore');
  if (options.load !== undefined && typeof options.load !== 'function') throw new InvalidArgumentError(`the load option of openStore must be a function, got ${describeValue(options.load)}`);
  const config: BackendConfig = typeof source === 'string' || source instanceof URL ? { url: String(source) } : source;
  // Checked before the backend opens, so that a bad option leaves nothing open.
  resolveRetryPolicy(options.retry);
  checkTimeout(options.timeoutMs);
  const backend = await openBackend(config, typeof source === 'string' ? maskUrl(source) : 'store', options.load ?? defaultLoader, options.env);
  return new Store(backend, options);
}

/**
 * Opens the named stores of a configuration; stores on the same backend share one backend instance.
 * Close them with `closeAll()`.
 */
export async function openStores(
  config: StowageConfig,
  options: Omit<OpenOptions, keyof StoreOptions> = {},
): Promise<{ stores: Record<string, Store>; closeAll(): Promise<void> }> {
  if (!isPlainObject(config)) throw new InvalidArgumentError(`openStores takes a configuration object ({ backends, stores }), got ${describeValue(config)}`);
  options = checkOptions(options, 'openStores');
  checkKnownFields(config, CONFIG_FIELDS, 'the configuration');
  for (const part of ['backends', 'stores'] as const) {
    if (config[part] !== undefined && !isPlainObject(config[part])) throw new InvalidArgumentError(`the ${part} of a configuration must be an object of named entries, got ${describeValue(config[part])}`);
  }
  for (const [name, storeConfig] of Object.entries(config.stores ?? {})) {
    if (!isPlainObject(storeConfig)) throw new InvalidArgumentError(`store '${name}' must be an object with a backend, got ${describeValue(storeConfig)}`);
    checkKnownFields(storeConfig, STORE_FIELDS, `store '${name}'`);
    if (typeof storeConfig.backend !== 'string' || storeConfig.backend === '') throw new InvalidArgumentError(`store '${name}' needs a backend: the name of one in backends, or a store URL`);
  }
  config = substituteEnv(config, options.env);
  const load = options.load ?? defaultLoader;
  const backends = new Map<string, Backend>();
  const stores: Record<string, Store> = {};
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled([...backends.values()].map((backend) => backend.close()));
  };
  try {
    for (const [name, storeConfig] of Object.entries(config.stores ?? {})) {
      const target = storeConfig.backend;
      let backend = backends.get(target);
      if (!backend) {
        const backendConfig = config.backends?.[target] ?? (target.includes(':') ? { url: target } : undefined);
        if (!backendConfig) throw new InvalidArgumentError(`store '${name}' refers to the backend '${target}', which the configuration does not define`);
        backend = await openBackend(backendConfig, target.includes(':') ? maskUrl(target) : target, load, false);
        backends.set(target, backend);
      }
      stores[name] = new Store(backend, {
        root: storeConfig.root,
        maxSize: storeConfig.maxSize,
        strictHierarchy: storeConfig.strictHierarchy,
        retry: storeConfig.retry,
        timeoutMs: storeConfig.timeoutMs,
        layers: await makeLayers(storeConfig.layers, name, load),
      });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  return { stores, closeAll };
}
