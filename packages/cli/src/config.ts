/**
 * Finding, reading and checking the configuration file.
 *
 * The file is `--config FILE`, else `$STOWAGE_CONFIG`, else the first of `stowage.config.json`,
 * `stowage.config.yaml` and `stowage.config.yml` in the working directory (two of them at once is an
 * error). It is `@stowage/core`'s `StowageConfig` (named `backends` and `stores`, `${ENV}`
 * references) plus `default`, the store that `:KEY` means. Messages about it name the file and the
 * field, never a value, since values may be secrets.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { StoreConfig, StowageConfig } from '@stowage/core';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configError } from './failures.ts';
import { STORE_URL_SHAPES } from './locations.ts';

/** One named store of the configuration: core's store settings plus where `stowage serve` serves it. */
export interface CliStoreConfig extends StoreConfig {
  /** Signed links to this store. */
  links?:
    | {
        /**
         * Where `stowage serve` serves this store, as clients reach it (`https://files.example.com/files/`):
         * `stowage sign` links point there, and `stowage serve` mounts the store at its path.
         */
        baseUrl?: string | undefined;
      }
    | undefined;
}

/** The configuration file's content. */
export interface CliConfig extends StowageConfig {
  stores?: Record<string, CliStoreConfig> | undefined;
  /** The store that `:KEY` locations (and commands given no location) use; without it, the embedded SQLite store. */
  default?: string | undefined;
  /** Signed links of `stowage serve` and `stowage sign`. */
  links?:
    | {
        /**
         * The HMAC secrets (at least 32 characters each): the first signs, every one verifies, so a
         * secret is rotated by putting the new one first. Default: `$STOWAGE_LINK_SECRET`.
         */
        secrets?: string | string[] | undefined;
      }
    | undefined;
}

/** A configuration read from a file. */
export interface LoadedConfig {
  /** The file's absolute path. */
  path: string;
  /** Its content, checked, with `${ENV}` references not yet substituted. */
  config: CliConfig;
  /** The names of its stores. */
  storeNames: ReadonlySet<string>;
}

/** The file names looked for in the working directory, in this order. */
export const CONFIG_FILE_NAMES: readonly string[] = ['stowage.config.json', 'stowage.config.yaml', 'stowage.config.yml'];

/** The environment variable that points at a configuration file. */
export const CONFIG_VARIABLE = 'STOWAGE_CONFIG';

const STORE_NAME = /^[A-Za-z][A-Za-z0-9._-]+$/;

/** Where to look, and what to look for. */
export interface FindConfigOptions {
  /** `--config`, when given. */
  explicit?: string | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw configError(`${path} is a directory, not a configuration file`);
    throw configError(`cannot read ${path} (${code ?? 'error'})`, { cause: error });
  }
}

/** Finds and reads the configuration, or returns undefined when there is none. */
export async function loadConfig(options: FindConfigOptions): Promise<LoadedConfig | undefined> {
  const pointed = options.explicit ?? (options.env[CONFIG_VARIABLE] || undefined);
  if (pointed !== undefined) {
    const path = resolve(options.cwd, pointed);
    const text = await readIfExists(path);
    const how = options.explicit !== undefined ? '--config' : `$${CONFIG_VARIABLE}`;
    if (text === undefined) throw configError(`${how} names ${path}, which does not exist`);
    return parseConfig(text, path);
  }
  const found: { path: string; text: string }[] = [];
  for (const name of CONFIG_FILE_NAMES) {
    const path = resolve(options.cwd, name);
    const text = await readIfExists(path);
    if (text !== undefined) found.push({ path, text });
  }
  if (found.length > 1) throw configError(`found ${found.map((file) => file.path).join(' and ')}: keep one, or pick one with --config`);
  const [file] = found;
  return file === undefined ? undefined : parseConfig(file.text, file.path);
}

/** `line L, column C` of an offset in `text`. */
function positionAt(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
}

/** Where a JSON syntax error is, from the parser's message, without the text around it (it may hold a secret). */
function jsonErrorPosition(error: Error, text: string): string {
  const lineColumn = /line (\d+) column (\d+)/.exec(error.message);
  if (lineColumn) return `line ${lineColumn[1]}, column ${lineColumn[2]}`;
  const position = /position (\d+)/.exec(error.message);
  if (position) return positionAt(text, Number(position[1]));
  return /end of JSON input/i.test(error.message) ? 'the end of the file' : 'an unknown position';
}

/** Parses and checks a configuration file's text. */
export function parseConfig(text: string, path: string): LoadedConfig {
  let value: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw configError(`${path} is not valid JSON: a syntax error at ${jsonErrorPosition(error as Error, text)}`);
    }
  } else {
    try {
      value = parseYaml(text, { prettyErrors: false, maxAliasCount: 100 });
    } catch (error) {
      if (error instanceof YAMLParseError) throw configError(`${path} is not valid YAML: ${error.code} at ${positionAt(text, error.pos[0])}`);
      throw configError(`${path} is not valid YAML`, { cause: error });
    }
  }
  const config = checkConfig(value, path);
  return { path, config, storeNames: new Set(Object.keys(config.stores ?? {})) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkFields(value: Record<string, unknown>, allowed: readonly string[], where: string, path: string): void {
  for (const field of Object.keys(value)) {
    if (!allowed.includes(field)) throw configError(`${path}: ${where} has an unknown field '${field}' (the fields are ${allowed.join(', ')})`);
  }
}

function expectType(value: unknown, type: 'string' | 'number' | 'boolean' | 'object', where: string, path: string): void {
  const ok = type === 'object' ? isObject(value) : typeof value === type;
  if (value !== undefined && !ok) throw configError(`${path}: ${where} must be ${type === 'object' ? 'an object' : `a ${type}`}`);
}

/** Checks the shape of a configuration; names the field, never its value. */
function checkConfig(value: unknown, path: string): CliConfig {
  if (value === null || value === undefined) return {};
  if (!isObject(value)) throw configError(`${path}: the configuration must be an object with 'backends' and 'stores'`);
  checkFields(value, ['$schema', 'backends', 'stores', 'default', 'links'], 'the configuration', path);
  expectType(value.backends, 'object', "'backends'", path);
  expectType(value.stores, 'object', "'stores'", path);
  expectType(value.default, 'string', "'default'", path);
  expectType(value.links, 'object', "'links'", path);
  if (isObject(value.links)) {
    checkFields(value.links, ['secrets'], "'links'", path);
    const secrets = value.links.secrets;
    const isList = Array.isArray(secrets) && secrets.length > 0 && secrets.every((secret) => typeof secret === 'string');
    if (secrets !== undefined && typeof secrets !== 'string' && !isList) throw configError(`${path}: links.secrets must be a string or a non-empty list of strings`);
  }
  const backends = (value.backends ?? {}) as Record<string, unknown>;
  for (const [name, backend] of Object.entries(backends)) {
    const where = `backends.${name}`;
    if (!isObject(backend)) throw configError(`${path}: ${where} must be an object with 'type' or 'url'`);
    checkFields(backend, ['type', 'url', 'options'], where, path);
    expectType(backend.type, 'string', `${where}.type`, path);
    expectType(backend.url, 'string', `${where}.url`, path);
    expectType(backend.options, 'object', `${where}.options`, path);
    if (backend.type === undefined && backend.url === undefined) throw configError(`${path}: ${where} needs 'type' (with 'options') or 'url'`);
    if (backend.type !== undefined && backend.url !== undefined) throw configError(`${path}: ${where} has both 'type' and 'url': give one`);
  }
  const stores = (value.stores ?? {}) as Record<string, unknown>;
  for (const [name, store] of Object.entries(stores)) {
    const where = `stores.${name}`;
    if (!STORE_NAME.test(name)) {
      throw configError(`${path}: the store name '${name}' is not usable in locations (a letter, then at least one letter, digit, '.', '_' or '-')`);
    }
    if (Object.hasOwn(STORE_URL_SHAPES, name.toLowerCase())) {
      throw configError(`${path}: the store name '${name}' is a URL scheme; name the store differently so that ${name}:KEY stays unambiguous`);
    }
    if (!isObject(store)) throw configError(`${path}: ${where} must be an object with 'backend'`);
    checkFields(store, ['backend', 'root', 'maxSize', 'strictHierarchy', 'links'], where, path);
    if (typeof store.backend !== 'string' || store.backend === '') throw configError(`${path}: ${where}.backend must name a backend or be a store URL`);
    if (!Object.hasOwn(backends, store.backend) && !store.backend.includes(':')) {
      throw configError(`${path}: ${where}.backend refers to '${store.backend}', which 'backends' does not define`);
    }
    expectType(store.root, 'string', `${where}.root`, path);
    expectType(store.maxSize, 'number', `${where}.maxSize`, path);
    expectType(store.strictHierarchy, 'boolean', `${where}.strictHierarchy`, path);
    expectType(store.links, 'object', `${where}.links`, path);
    if (isObject(store.links)) {
      checkFields(store.links, ['baseUrl'], `${where}.links`, path);
      expectType(store.links.baseUrl, 'string', `${where}.links.baseUrl`, path);
    }
  }
  if (value.default !== undefined && !Object.hasOwn(stores, value.default as string)) {
    throw configError(`${path}: 'default' names the store '${String(value.default)}', which 'stores' does not define`);
  }
  return value as CliConfig;
}
