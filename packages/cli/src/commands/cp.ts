/**
 * `stowage cp`: copies objects between any two locations, and `stowage mv`, which deletes each source
 * once its copy is stored.
 *
 * @module
 */
import { basename } from 'node:path';
import { expectPositionals, flag, stringOption, type Command, type Context, type ParsedArgs } from '../command.ts';
import { usageError } from '../failures.ts';
import { statPath } from '../files.ts';
import { formatBytes } from '../format.ts';
import { isFolderKey, type Location } from '../locations.ts';
import { assertNotInside, copyObject, moveObject, objectsBelow, openRef, refBelow, type ObjectRef } from '../objects.ts';

/** Whether the destination is a folder that sources go into, rather than the name of one object. */
async function isFolderDestination(destination: Location, many: boolean): Promise<boolean> {
  if (many) return true;
  if (destination.kind === 'store') return isFolderKey(destination.key);
  if (destination.kind === 'path') return destination.text.endsWith('/') || (await statPath(destination.path))?.kind === 'directory';
  return false;
}

/** The name an object keeps when it is copied into a folder: its key's or path's last segment. */
function lastSegment(location: Location): string {
  if (location.kind === 'store') {
    const segment = location.key.split('/').pop();
    if (segment === undefined || segment === '') throw usageError('name an object to copy, or copy a folder with -r', location.text);
    return segment;
  }
  if (location.kind === 'path') return basename(location.path);
  throw usageError('standard input has no name: give the destination key, not a folder', location.text);
}

/** Copies (and for `mv`, moves) every source into the destination. */
async function transfer(command: Command, context: Context, args: ParsedArgs): Promise<number> {
  if (args.positionals.length < 2) expectPositionals(command, args, 2, 2, 'a SOURCE and a DESTINATION');
  const commandName = command.name;
  const recursive = flag(args, 'recursive');
  const createOnly = flag(args, 'if-not-exists');
  const contentType = stringOption(args, 'content-type');
  const move = commandName === 'mv';
  const texts = args.positionals;
  const destination = context.session.parse(texts.at(-1)!);
  const sources = texts.slice(0, -1).map((text) => context.session.parse(text));
  if (move && sources.some((source) => source.kind === 'stdio')) throw usageError('mv cannot move standard input; use cp', '-');
  if (recursive && contentType !== undefined) throw usageError('--content-type applies to one object at a time, not with -r');
  const intoFolder = await isFolderDestination(destination, recursive || sources.length > 1);
  const verb = move ? 'moved' : 'copied';

  const one = async (from: ObjectRef, to: ObjectRef): Promise<void> => {
    const { size } = move ? await moveObject(context, from, to, { createOnly, contentType }) : await copyObject(context, from, to, { createOnly, contentType });
    if (to.kind !== 'stdio') context.print(`${verb} ${from.display} to ${to.display} (${formatBytes(size)})`);
  };

  for (const source of sources) {
    if (context.signal.aborted) break;
    if (recursive) {
      if (source.kind === 'stdio') throw usageError('standard input is not a folder: copy it without -r', '-');
      await assertNotInside(context, source, destination);
      let count = 0;
      for await (const found of objectsBelow(context, source)) {
        if (context.signal.aborted) break;
        count += 1;
        try {
          await one(found.ref, await refBelow(context, destination, found.relative, { write: true }));
        } catch (error) {
          if (context.signal.aborted) throw error;
          context.fail(error);
        }
      }
      if (count === 0) context.note(`note: nothing below ${source.text} to ${commandName}`);
      continue;
    }
    if (source.kind === 'store' && isFolderKey(source.key)) throw usageError(`name an object to ${commandName}, or ${commandName} a folder with -r`, source.text);
    const from = await openRef(context, source, { write: move });
    const to = intoFolder ? await refBelow(context, destination, lastSegment(source), { write: true }) : await openRef(context, destination, { write: true });
    try {
      await one(from, to);
    } catch (error) {
      if (context.signal.aborted || sources.length === 1) throw error;
      context.fail(error);
    }
  }
  return context.status;
}

const SHARED_OPTIONS = {
  recursive: { type: 'boolean', short: 'r', description: 'copy every object below each SOURCE folder (a key prefix or a directory) into DESTINATION' },
  'if-not-exists': { type: 'boolean', description: 'create only: where the destination exists, fail with ALREADY_EXISTS and leave it as it is' },
  'content-type': { type: 'string', value: 'TYPE', description: "store the object with this content type instead of the source's" },
} as const;

const LOCATIONS_NOTE =
  'A SOURCE or DESTINATION is a store location (:KEY, NAME:KEY, sqlite:FILE.db/KEY, file:PATH, s3://BUCKET/KEY, ...), a local path, or - for standard input/output. A DESTINATION that is a folder (a key ending in /, an empty key, an existing directory, or any destination of several sources or -r) receives each object under its own name.';

/** `stowage cp`. */
export const cpCommand: Command = {
  name: 'cp',
  summary: 'Copy objects between any two locations: stores, local files, standard input and output.',
  usage: ['cp [options] SOURCE DESTINATION', 'cp [options] SOURCE... FOLDER', 'cp -r [options] FOLDER... FOLDER'],
  description: [
    LOCATIONS_NOTE,
    'Bytes stream from the source to the destination: memory stays small whatever the size. A copy within one store is done by the store itself. Content type and user metadata go along. The destination is written atomically: on failure or Ctrl-C it is left exactly as it was.',
    'With -r, the objects below SOURCE (key/... or the files of a directory, .stowage folders excepted) go to DESTINATION/<the same relative key>; a failure of one object is reported and the others are still copied. A DESTINATION inside SOURCE is refused.',
  ],
  options: SHARED_OPTIONS,
  examples: [
    ['cp report.pdf :reports/q3.pdf', 'upload a file into the default store'],
    ['cp :reports/q3.pdf ./q3.pdf', 'download it again'],
    ['cp -r ./photos sqlite:./media.db/photos/', 'upload a directory into a SQLite store'],
    ['cp sqlite:./media.db/photos/cat.jpg s3://bucket/cats/', 'copy between two backends'],
    ['cp --if-not-exists model.bin lake:models/v3.bin', 'never overwrite'],
    ['cp - :logs/today.txt < today.txt', 'store standard input'],
  ],
  run(context, args) {
    return transfer(this, context, args);
  },
};

/** `stowage mv`. */
export const mvCommand: Command = {
  name: 'mv',
  summary: 'Move objects: copy, then delete each source once its copy is stored.',
  usage: ['mv [options] SOURCE DESTINATION', 'mv [options] SOURCE... FOLDER', 'mv -r [options] FOLDER... FOLDER'],
  description: [
    LOCATIONS_NOTE,
    "Within one store the store's own move is used (a rename, atomic where the backend can). Between stores, each source is deleted only after its copy is complete, so an interrupted move leaves every object in at least one place. Moving a local directory with -r removes its files; the emptied directories stay.",
  ],
  options: SHARED_OPTIONS,
  examples: [
    ['mv :inbox/a.txt :archive/a.txt', 'rename within a store'],
    ['mv -r :inbox/ sqlite:./archive.db/2026/', 'move a folder to another store'],
    ['mv ./export.csv :exports/', 'upload a file and remove the local copy'],
  ],
  run(context, args) {
    return transfer(this, context, args);
  },
};
