/**
 * The commands that read one object: `stowage cat` (its bytes) and `stowage stat` (its metadata).
 *
 * @module
 */
import { basename } from 'node:path';
import { inferContentType } from '@stowage/core';
import { expectPositionals, flag, type Command } from '../command.ts';
import { atLocation, usageError } from '../failures.ts';
import { hashPath, pathNotFound, statPath } from '../files.ts';
import { alignColumns, formatBytes, formatTime } from '../format.ts';
import { isFolderKey } from '../locations.ts';
import { copyObject, openRef } from '../objects.ts';

/** `stowage cat`. */
export const catCommand: Command = {
  name: 'cat',
  summary: 'Write the bytes of objects to standard output.',
  usage: ['cat LOCATION...'],
  description: [
    'Streams each object in turn, exactly as stored. When standard output is not the terminal (a pipe or a file) and standard error is, a large object shows a progress bar on standard error.',
  ],
  options: {},
  examples: [
    ['cat :notes/hello.txt', 'print an object of the default store'],
    ['cat lake:exports/users.csv | head', 'the first lines of an object in a configured store'],
    ['cat sqlite:./media.db/photos/cat.jpg > cat.jpg', 'save an object to a file'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 1, Number.POSITIVE_INFINITY, 'at least one LOCATION');
    for (const text of args.positionals) {
      const location = context.session.parse(text);
      if (location.kind === 'store' && isFolderKey(location.key)) throw usageError('cat reads one object: name its key (ls lists a folder)', text);
      const from = await openRef(context, location, { write: false });
      await copyObject(context, from, { kind: 'stdio', display: '-' });
    }
    return context.status;
  },
};

/** `stowage stat`. */
export const statCommand: Command = {
  name: 'stat',
  summary: "Show an object's size, time, etag, content type, SHA-256 and user metadata.",
  usage: ['stat [--json] LOCATION...'],
  description: ['For a local file: its size, time, the content type its name implies and its SHA-256 (read and computed).'],
  options: {
    json: { type: 'boolean', description: 'one JSON object per location, one per line' },
  },
  examples: [
    ['stat :reports/q3.pdf', "an object's metadata"],
    ['stat --json lake:models/v3.bin | jq -r .sha256', 'its SHA-256, for a script'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 1, Number.POSITIVE_INFINITY, 'at least one LOCATION');
    const json = flag(args, 'json');
    for (const text of args.positionals) {
      const location = context.session.parse(text);
      const ref = await openRef(context, location, { write: false });
      let info: Record<string, unknown>;
      if (ref.kind === 'store') {
        const stat = await ref.store.stat(ref.key, { signal: context.signal }).catch((error: unknown) => Promise.reject(atLocation(error, ref.display)));
        info = {
          key: stat.key,
          size: stat.size,
          lastModified: stat.lastModified.toISOString(),
          etag: stat.etag,
          contentType: stat.contentType,
          sha256: stat.sha256,
          metadata: stat.metadata,
          ...(stat.versionId === undefined ? {} : { versionId: stat.versionId }),
          backend: ref.store.backendName,
        };
      } else if (ref.kind === 'path') {
        const stat = await statPath(ref.path);
        if (stat === undefined) throw atLocation(pathNotFound(ref.path, 'file'), ref.display);
        if (stat.kind !== 'file') throw usageError('stat shows a file or an object, not a directory', ref.display);
        info = {
          path: ref.path,
          size: stat.size,
          lastModified: stat.lastModified.toISOString(),
          contentType: inferContentType(basename(ref.path)),
          sha256: await hashPath(ref.path, context.signal),
        };
      } else {
        throw usageError('stat shows an object or a file, not standard input', '-');
      }
      if (json) {
        context.print(JSON.stringify(info));
        continue;
      }
      const rows: string[][] = [];
      for (const [name, value] of Object.entries(info)) {
        if (value === undefined) continue;
        if (name === 'size') rows.push([name, `${String(value)} (${formatBytes(value as number)})`]);
        else if (name === 'lastModified') rows.push(['modified', formatTime(new Date(value as string))]);
        else if (name === 'metadata') {
          const entries = Object.entries(value as Record<string, string>);
          rows.push(['metadata', entries.length === 0 ? '-' : entries.map(([key, item]) => `${key}=${JSON.stringify(item)}`).join(' ')]);
        } else rows.push([name === 'contentType' ? 'content-type' : name, String(value)]);
      }
      if (args.positionals.length > 1) context.print(`${ref.display}:`);
      for (const line of alignColumns(rows)) context.print(args.positionals.length > 1 ? `  ${line}` : line);
    }
    return context.status;
  },
};
