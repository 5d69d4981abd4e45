/**
 * `stowage rm`: deletes objects from stores, one by one or a whole folder with `-r`.
 *
 * @module
 */
import { NotFoundError } from '@stowage/core';
import { expectPositionals, flag, type Command } from '../command.ts';
import { atLocation, usageError } from '../failures.ts';
import { displayKey, folderPrefix, isFolderKey } from '../locations.ts';
import { openStoreOf } from '../objects.ts';

/** Keys deleted per call: the size of a store's batch delete. */
const BATCH = 1000;

/** `stowage rm`. */
export const rmCommand: Command = {
  name: 'rm',
  summary: 'Delete objects from a store.',
  usage: ['rm [options] LOCATION...'],
  description: [
    'Deletes the object at each LOCATION; a missing one is NOT_FOUND (exit status 3) unless --force. With -r, deletes the object itself (if any) and everything below KEY/; -r on an empty key (rm -r :) empties the whole store.',
    'rm works on store locations only: local files are deleted with your shell.',
  ],
  options: {
    recursive: { type: 'boolean', short: 'r', description: 'also delete everything below KEY/' },
    force: { type: 'boolean', short: 'f', description: 'no error for what does not exist' },
  },
  examples: [
    ['rm :notes/old.txt', 'delete one object'],
    ['rm -r lake:tmp/', 'delete a folder'],
    ['rm -f :maybe-there.txt', 'delete it if it exists'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 1, Number.POSITIVE_INFINITY, 'at least one LOCATION');
    const recursive = flag(args, 'recursive');
    const force = flag(args, 'force');
    const { signal } = context;
    for (const text of args.positionals) {
      const location = context.session.parse(text);
      if (location.kind !== 'store') throw usageError(`rm deletes objects in stores; ${text} is ${location.kind === 'path' ? 'a local path (prefix it with file: to use the local store)' : 'not a store location'}`, text);
      if (!recursive && isFolderKey(location.key)) throw usageError('name an object to delete, or delete a folder with -r', text);
      const store = await openStoreOf(context, location, { write: true });
      const display = displayKey(location, location.key);
      try {
        let deleted = 0;
        const objectKey = location.key.endsWith('/') ? undefined : location.key === '' ? undefined : location.key;
        if (objectKey !== undefined && (await store.exists(objectKey, { signal }))) {
          await store.delete(objectKey, { signal });
          context.print(`deleted ${displayKey(location, objectKey)}`);
          deleted += 1;
        }
        if (recursive) {
          let batch: string[] = [];
          const flush = async () => {
            await store.deleteMany(batch, { signal });
            for (const key of batch) context.print(`deleted ${displayKey(location, key)}`);
            deleted += batch.length;
            batch = [];
          };
          for await (const entry of store.listAll({ prefix: folderPrefix(location.key), signal })) {
            batch.push(entry.key);
            if (batch.length === BATCH) await flush();
          }
          if (batch.length > 0) await flush();
        }
        if (deleted === 0 && !force) {
          throw new NotFoundError(recursive ? `nothing to delete at or below ${JSON.stringify(location.key)}` : `no object ${JSON.stringify(location.key)}`, { key: location.key, backend: store.backendName });
        }
      } catch (error) {
        if (signal.aborted || args.positionals.length === 1) throw atLocation(error, display);
        context.fail(atLocation(error, display));
      }
    }
    return context.status;
  },
};
