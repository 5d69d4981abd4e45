/**
 * `stowage ls`: lists keys by prefix, one level (folders folded at the next `/`) or all of them, in
 * short, long or JSON form; local directories too.
 *
 * @module
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compareUtf16, compareUtf8, DEFAULT_CONTENT_TYPE, inferContentType, type ObjectInfo, type Store } from '@stowage/core';
import { expectPositionals, flag, type Command, type Context } from '../command.ts';
import { atLocation, usageError } from '../failures.ts';
import { fileError, INTERNAL_DIRECTORY, pathNotFound, statPath, walkPath } from '../files.ts';
import { alignColumns, formatBytes, formatTime } from '../format.ts';
import { displayKey, type Location, type StoreLocation } from '../locations.ts';
import { openStoreOf } from '../objects.ts';

/** One line of a listing. */
interface Row {
  type: 'object' | 'folder';
  /** The key (for a local file, its path as shown). */
  key: string;
  /** The location as shown: what another command takes to name it. */
  name: string;
  size?: number | undefined;
  lastModified?: Date | undefined;
  etag?: string | undefined;
  /** Filled in for the long form. */
  contentType?: string | undefined;
}

/** How rows are printed: short (names), long (columns) or JSON (one array, streamed). */
class Printer {
  readonly #context: Context;
  readonly #long: boolean;
  readonly #json: boolean;
  #first = true;

  constructor(context: Context, long: boolean, json: boolean) {
    this.#context = context;
    this.#long = long;
    this.#json = json;
    if (json) context.io.stdout.write('[');
  }

  /** Prints one page of rows (columns are aligned within a page, so that nothing waits for the whole listing). */
  page(rows: readonly Row[]): void {
    if (this.#json) {
      for (const row of rows) {
        const entry: Record<string, unknown> = { type: row.type, key: row.key, location: row.name };
        if (row.type === 'object') {
          entry.size = row.size;
          if (row.lastModified) entry.lastModified = row.lastModified.toISOString();
          if (row.etag !== undefined) entry.etag = row.etag;
          if (row.contentType !== undefined) entry.contentType = row.contentType;
        }
        this.#context.io.stdout.write(`${this.#first ? '\n' : ',\n'}  ${this.#context.session.mask(JSON.stringify(entry))}`);
        this.#first = false;
      }
      return;
    }
    if (!this.#long) {
      for (const row of rows) this.#context.print(row.name);
      return;
    }
    const cells = rows.map((row) =>
      row.type === 'folder'
        ? ['-', '-', 'folder', row.name]
        : [formatBytes(row.size ?? 0), row.lastModified ? formatTime(row.lastModified) : '-', row.contentType ?? '-', row.name],
    );
    for (const line of alignColumns(cells, new Set([0]))) this.#context.print(line);
  }

  end(): void {
    if (this.#json) this.#context.io.stdout.write(this.#first ? ']\n' : '\n]\n');
  }
}

/** Fills in content types (a `stat` per object, a few at a time, in order). */
async function addContentTypes(rows: Row[], stat: (row: Row) => Promise<ObjectInfo | undefined>): Promise<void> {
  const objects = rows.filter((row) => row.type === 'object');
  const width = 8;
  for (let start = 0; start < objects.length; start += width) {
    await Promise.all(
      objects.slice(start, start + width).map(async (row) => {
        row.contentType = (await stat(row))?.contentType;
      }),
    );
  }
}

async function listStore(context: Context, location: StoreLocation, printer: Printer, options: { recursive: boolean; long: boolean }): Promise<void> {
  const store: Store = await openStoreOf(context, location, { write: false });
  const compare = store.capabilities.listOrder === 'utf16' ? compareUtf16 : compareUtf8;
  const statRow = async (row: Row) => {
    try {
      return await store.stat(row.key, { signal: context.signal });
    } catch (error) {
      if ((error as { code?: string }).code === 'NOT_FOUND') return undefined; // deleted since it was listed
      throw error;
    }
  };
  try {
    for await (const page of store.pages({ prefix: location.key, delimiter: options.recursive ? undefined : '/', signal: context.signal })) {
      const rows: (Row & { order: string })[] = [
        ...page.items.map((item) => ({ type: 'object' as const, key: item.key, order: item.key, name: displayKey(location, item.key), size: item.size, lastModified: item.lastModified, etag: item.etag })),
        ...page.prefixes.map((prefix) => ({ type: 'folder' as const, key: prefix, order: prefix, name: displayKey(location, prefix) })),
      ].sort((a, b) => compare(a.order, b.order));
      if (options.long) await addContentTypes(rows, statRow);
      printer.page(rows);
    }
  } catch (error) {
    throw atLocation(error, displayKey(location, location.key));
  }
}

async function listPath(context: Context, location: Extract<Location, { kind: 'path' }>, printer: Printer, options: { recursive: boolean; long: boolean }): Promise<void> {
  const info = await statPath(location.path);
  if (info === undefined) throw atLocation(pathNotFound(location.path), location.text);
  const typeOf = (name: string) => {
    const inferred = inferContentType(name);
    return options.long ? inferred : inferred === DEFAULT_CONTENT_TYPE ? undefined : inferred;
  };
  if (info.kind !== 'directory') {
    printer.page([{ type: 'object', key: location.text, name: location.text, size: info.size, lastModified: info.lastModified, contentType: typeOf(location.path) }]);
    return;
  }
  const base = location.text.endsWith('/') ? location.text : `${location.text}/`;
  if (options.recursive) {
    const rows: Row[] = [];
    for await (const file of walkPath(location.path)) {
      rows.push({ type: 'object', key: `${base}${file.relative}`, name: `${base}${file.relative}`, size: file.size, lastModified: file.lastModified, contentType: typeOf(file.relative) });
      if (rows.length === 1000) printer.page(rows.splice(0));
    }
    printer.page(rows);
    return;
  }
  let names: string[];
  try {
    names = await readdir(location.path);
  } catch (error) {
    throw atLocation(fileError(error, location.path), location.text);
  }
  const rows: (Row & { order: string })[] = [];
  for (const name of names) {
    if (name === INTERNAL_DIRECTORY) continue;
    const entry = await statPath(join(location.path, name));
    if (entry?.kind === 'directory') rows.push({ type: 'folder', key: `${base}${name}/`, order: `${name}/`, name: `${base}${name}/` });
    else if (entry?.kind === 'file') rows.push({ type: 'object', key: `${base}${name}`, order: name, name: `${base}${name}`, size: entry.size, lastModified: entry.lastModified, contentType: typeOf(name) });
  }
  printer.page(rows.sort((a, b) => compareUtf8(a.order, b.order)));
}

/** `stowage ls`. */
export const lsCommand: Command = {
  name: 'ls',
  summary: 'List the keys that start with a prefix, or the files of a local directory.',
  usage: ['ls [options] [LOCATION...]'],
  description: [
    "LOCATION's key is a prefix: ls :docs/ lists what is in docs/, ls :do lists every key and folder starting with do. Without -r, keys are folded at the next / into folders (shown ending with /); with -r every key below is listed. Without a LOCATION, the default store's top level.",
    'The long form (-l) shows size, modification time (UTC) and content type (one stat per object). --json prints one JSON array of { "type": "object" | "folder", "key", "location", "size", "lastModified", "etag", "contentType" (with -l) }, where "location" is the argument other commands take for it.',
  ],
  options: {
    recursive: { type: 'boolean', short: 'r', description: 'every key below the prefix, not folded into folders' },
    long: { type: 'boolean', short: 'l', description: 'size, modification time and content type of each object' },
    json: { type: 'boolean', description: 'one JSON array, for scripts' },
  },
  examples: [
    ['ls', "the default store's top level"],
    ['ls -l :reports/', 'what is in reports/, with sizes, times and content types'],
    ['ls -r sqlite:./media.db/photos/', 'every key below photos/ in a SQLite store'],
    ["ls --json -r lake: | jq '.[].key'", 'every key of a configured store, for a script'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 0, Number.POSITIVE_INFINITY, 'locations');
    const options = { recursive: flag(args, 'recursive'), long: flag(args, 'long') };
    const printer = new Printer(context, options.long, flag(args, 'json'));
    try {
      for (const text of args.positionals.length === 0 ? [':'] : args.positionals) {
        const location = context.session.parse(text);
        if (location.kind === 'stdio') throw usageError('ls lists a store or a local directory, not standard input', '-');
        if (location.kind === 'path') await listPath(context, location, printer, options);
        else await listStore(context, location, printer, options);
      }
    } finally {
      printer.end();
    }
    return context.status;
  },
};
