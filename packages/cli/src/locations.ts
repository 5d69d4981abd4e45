/**
 * The grammar of locations: what a command-line argument such as `sqlite:./store.db/models/v3.pkl`,
 * `s3://bucket/key`, `mystore:reports/q3.pdf`, `:notes/a.txt` or `./report.pdf` refers to.
 *
 * ```
 * -                      standard input (a source) or standard output (a destination)
 * :KEY                   KEY in the default store
 * NAME:KEY               KEY in the store NAME of the configuration
 * SCHEME:...             a store URL and a key, split as STORE_URL_SHAPES says for SCHEME
 * anything else          a local file or directory
 * ```
 *
 * An argument is read as `NAME:` or `SCHEME:` only when it starts with a letter followed by at least
 * one more name character and a colon (`[A-Za-z][A-Za-z0-9+._-]+:`), so `C:\data`, `./a:b` and
 * `dir/a:b` are local paths. A configured store name wins over nothing: names that equal a scheme
 * are refused when the configuration is read. Keys are taken literally (never percent-decoded); the
 * store part of a URL is handed to the registry unchanged, so it means what `openStore()` means.
 *
 * @module
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { maskUrl } from '@stowage/core';
import { usageError } from './failures.ts';

/** How a URL scheme splits into the store's URL and a key. */
export type StoreUrlShape =
  /** `scheme://AUTHORITY/[first `storeSegments` segments/]KEY[?query]`: the authority (and segments) name the store. */
  | { form: 'authority'; storeSegments: number; module: string; example: string }
  /** `sqlite:DB/KEY`: the database file runs through the first segment with a SQLite extension. */
  | { form: 'sqlite'; module: string; example: string }
  /** `file:DIR//KEY`, or `file:PATH` inside the working directory. */
  | { form: 'file'; module: string; example: string };

/**
 * Every URL scheme the command understands, with the adapter package that opens it. A new adapter
 * joins with one line here (its package is loaded only when a location uses it).
 */
export const STORE_URL_SHAPES: Readonly<Record<string, StoreUrlShape>> = {
  sqlite: { form: 'sqlite', module: '@stowage/sql-blob', example: 'sqlite:./store.db/models/v3.pkl' },
  postgres: { form: 'authority', storeSegments: 1, module: '@stowage/sql-blob', example: 'postgres://app@db.internal:5432/app/reports/q3.pdf' },
  postgresql: { form: 'authority', storeSegments: 1, module: '@stowage/sql-blob', example: 'postgresql://app@db.internal/app/reports/q3.pdf' },
  mysql: { form: 'authority', storeSegments: 1, module: '@stowage/sql-blob', example: 'mysql://app@db.internal:3306/app/reports/q3.pdf' },
  mariadb: { form: 'authority', storeSegments: 1, module: '@stowage/sql-blob', example: 'mariadb://app@db.internal/app/reports/q3.pdf' },
  file: { form: 'file', module: '@stowage/local', example: 'file:./data//reports/q3.pdf' },
  memory: { form: 'authority', storeSegments: 0, module: '@stowage/memory', example: 'memory://scratch/reports/q3.pdf' },
  s3: { form: 'authority', storeSegments: 0, module: '@stowage/s3', example: 's3://bucket/reports/q3.pdf' },
  gs: { form: 'authority', storeSegments: 0, module: '@stowage/gcs', example: 'gs://bucket/reports/q3.pdf' },
  az: { form: 'authority', storeSegments: 0, module: '@stowage/azure', example: 'az://container/reports/q3.pdf' },
  azure: { form: 'authority', storeSegments: 0, module: '@stowage/azure', example: 'azure://container/reports/q3.pdf' },
};

/** File name endings that mark the database file in a `sqlite:` location. */
const SQLITE_EXTENSION = /\.(?:db|db3|sqlite|sqlite3)$/i;

/** Which store a location is in. */
export type StoreRef =
  /** The default store: the configuration's `default`, else the embedded SQLite store. */
  | { kind: 'default' }
  /** A store named in the configuration. */
  | { kind: 'named'; name: string }
  /** A store URL (`sqlite:./store.db`, `s3://bucket?region=eu-west-1`, ...), as the registry opens it. */
  | { kind: 'url'; url: string; scheme: string };

/** What a command-line argument refers to. */
export type Location =
  /** `-`: standard input or output. */
  | { kind: 'stdio'; text: string }
  /** A local file or directory, outside any store. */
  | { kind: 'path'; text: string; path: string }
  /** A key (or a key prefix, possibly empty) in a store. */
  | {
      kind: 'store';
      text: string;
      store: StoreRef;
      key: string;
      /** What goes before a key when the command names another object of the same store (masked). */
      prefix: string;
    };

/** A location in a store. */
export type StoreLocation = Extract<Location, { kind: 'store' }>;

/** What {@link parseLocation} needs to know besides the text. */
export interface LocationContext {
  /** The working directory: relative paths and `file:` locations are resolved against it. */
  cwd: string;
  /** The names of the configured stores. */
  storeNames: ReadonlySet<string>;
}

const NAMED = /^([A-Za-z][A-Za-z0-9+._-]+):(.*)$/s;

/**
 * Parses one location. Throws a usage error (exit status 2) for a malformed one; keys are checked
 * later, by the store, so that a bad key is `INVALID_PATH` (exit status 4).
 *
 * @example
 * ```ts
 * parseLocation('sqlite:./store.db/models/v3.pkl', { cwd: process.cwd(), storeNames: new Set() })
 * // { kind: 'store', store: { kind: 'url', url: 'sqlite:./store.db', scheme: 'sqlite' }, key: 'models/v3.pkl', ... }
 * ```
 */
export function parseLocation(text: string, context: LocationContext): Location {
  if (text === '-') return { kind: 'stdio', text };
  if (text === '') throw usageError('a location cannot be empty (write ./ for the working directory, : for the default store)');
  if (text.startsWith(':')) return { kind: 'store', text, store: { kind: 'default' }, key: text.slice(1), prefix: ':' };
  const match = NAMED.exec(text);
  if (!match) return { kind: 'path', text, path: resolve(context.cwd, text) };
  const name = match[1]!;
  const rest = match[2]!;
  if (context.storeNames.has(name)) return { kind: 'store', text, store: { kind: 'named', name }, key: rest, prefix: `${name}:` };
  const scheme = name.toLowerCase();
  const shape = STORE_URL_SHAPES[scheme];
  if (!shape) {
    const known = context.storeNames.size > 0 ? `the configured stores are ${[...context.storeNames].join(', ')}` : 'no store is configured';
    throw usageError(
      `unknown store or URL scheme '${name}' (${known}; the URL schemes are ${Object.keys(STORE_URL_SHAPES).join(', ')}; write ./${name}:... for a local file whose name has a colon)`,
      maskUrl(text),
    );
  }
  switch (shape.form) {
    case 'sqlite':
      return parseSqlite(text, scheme, rest);
    case 'file':
      return parseFile(text, rest, context.cwd);
    case 'authority':
      return parseAuthority(text, scheme, rest, shape.storeSegments, shape.example);
  }
}

/** Splits `text` at its first `?` into the part before and the query (with its `?`, or ''). */
function splitQuery(text: string): [string, string] {
  const question = text.indexOf('?');
  return question === -1 ? [text, ''] : [text.slice(0, question), text.slice(question)];
}

function storeLocation(text: string, url: string, scheme: string, key: string, prefix: string): StoreLocation {
  try {
    new URL(url);
  } catch {
    throw usageError(`not a valid store URL: ${maskUrl(url)}`, maskUrl(text));
  }
  return { kind: 'store', text, store: { kind: 'url', url, scheme }, key, prefix };
}

/**
 * `sqlite:DB/KEY`: DB runs through the first path segment ending in `.db`, `.db3`, `.sqlite` or
 * `.sqlite3` (looked for before any `//`); else `sqlite:DB//KEY` splits at the `//` (a database file
 * of any name); with neither, the whole path is the database and the key is empty. `sqlite:///abs/store.db/KEY` is an absolute path, `?query` goes to
 * the store (`journalMode`, `tableName`, ...), and `sqlite::memory:` is a private in-memory database.
 */
function parseSqlite(text: string, scheme: string, rest: string): StoreLocation {
  const [withSlashes, query] = splitQuery(rest);
  const slashes = withSlashes.startsWith('//') ? '//' : '';
  const path = withSlashes.slice(slashes.length);
  let database: string;
  let key: string;
  let separator = '/';
  const memory = /^:memory:(?:\/|$)/.exec(path);
  const explicit = path.indexOf('//');
  // The extension rule looks only before an explicit `//`, and wins over it: in
  // `sqlite:./store.db/a//b` the database is ./store.db and `a//b` is a (bad) key.
  const segments = (explicit === -1 ? path : path.slice(0, explicit)).split('/');
  const index = segments.findIndex((segment) => SQLITE_EXTENSION.test(segment));
  if (memory) {
    database = ':memory:';
    key = path.slice(memory[0].length);
  } else if (index !== -1) {
    database = segments.slice(0, index + 1).join('/');
    key = path.slice(database.length + 1);
  } else if (explicit > 0) {
    database = path.slice(0, explicit);
    key = path.slice(explicit + 2);
    separator = '//';
  } else {
    database = path;
    key = '';
  }
  if (database === '' || database === '/') {
    throw usageError(`a sqlite: location needs a database file, as in ${STORE_URL_SHAPES.sqlite!.example}`, maskUrl(text));
  }
  return storeLocation(text, `${scheme}:${slashes}${database}${query}`, scheme, key, `${scheme}:${slashes}${database}${separator}`);
}

/**
 * `file:DIR//KEY`: KEY in the local store rooted at DIR. `file:PATH` without `//`: the store is
 * rooted at the working directory and PATH, which must lie inside it, is the key. `file:///abs/dir//KEY`
 * and `file://localhost/...` are the URL spellings of absolute paths.
 */
function parseFile(text: string, rest: string, cwd: string): StoreLocation {
  const [withAuthority, query] = splitQuery(rest);
  let path = withAuthority;
  let authority = '';
  if (path.startsWith('//')) {
    const end = path.indexOf('/', 2);
    const host = end === -1 ? path.slice(2) : path.slice(2, end);
    if (host !== '' && host !== 'localhost') throw usageError(`a file: location cannot name another host (${host})`, text);
    authority = `//${host}`;
    path = end === -1 ? '' : path.slice(end);
  }
  const explicit = path.indexOf('//');
  if (explicit > 0) {
    const root = path.slice(0, explicit);
    const url = new URL(`file:${authority}${root}${query}`, pathToFileURL(`${cwd}${sep}`)).href;
    return storeLocation(text, url, 'file', path.slice(explicit + 2), `file:${authority}${root}//`);
  }
  if (path === '') throw usageError('a file: location needs a path, as in file:./notes/a.txt or file:./data//notes/a.txt', text);
  const absolute = resolve(cwd, path);
  const inside = relative(cwd, absolute);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw usageError(`${path} is outside the working directory: give the store's folder and the key apart, as in file:/srv/data//notes/a.txt`, text);
  }
  const key = inside.split(sep).join('/') + (inside !== '' && path.endsWith('/') ? '/' : '');
  return storeLocation(text, `${pathToFileURL(cwd).href}${query}`, 'file', key, 'file:');
}

/**
 * `scheme://AUTHORITY/KEY`: the authority (a bucket, a container, a memory store's name, a database
 * server with its credentials) and the first `storeSegments` path segments (a database name) name the
 * store; the query string goes to the store too.
 */
function parseAuthority(text: string, scheme: string, rest: string, storeSegments: number, example: string): StoreLocation {
  if (!rest.startsWith('//')) throw usageError(`a ${scheme}: location starts with ${scheme}://, as in ${example}`, maskUrl(text));
  const [body, query] = splitQuery(rest.slice(2));
  const slash = body.indexOf('/');
  const authority = slash === -1 ? body : body.slice(0, slash);
  if (authority === '') throw usageError(`a ${scheme}: location names its store after ${scheme}://, as in ${example}`, maskUrl(text));
  const segments = slash === -1 ? [] : body.slice(slash + 1).split('/');
  if (segments.length < storeSegments || segments.slice(0, storeSegments).some((segment) => segment === '')) {
    throw usageError(`a ${scheme}: location names the database after the server, as in ${example}`, maskUrl(text));
  }
  const storePath = segments.slice(0, storeSegments).map((segment) => `/${segment}`).join('');
  const key = segments.slice(storeSegments).join('/');
  const base = `${scheme}://${authority}${storePath}`;
  return storeLocation(text, `${base}${query}`, scheme, key, `${maskUrl(base)}/`);
}

/** The location as it should appear in messages: what the user wrote, with secrets masked. */
export function displayLocation(location: Location): string {
  return location.kind === 'store' ? `${location.prefix}${location.key}` : location.text;
}

/** The display of another key of the same store as `location`. */
export function displayKey(location: StoreLocation, key: string): string {
  return `${location.prefix}${key}`;
}

/** Whether a store location names a folder (its key is empty or ends with `/`) rather than one object. */
export function isFolderKey(key: string): boolean {
  return key === '' || key.endsWith('/');
}

/** The listing prefix of a folder key: `''` stays `''`, `docs` and `docs/` become `docs/`. */
export function folderPrefix(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}
