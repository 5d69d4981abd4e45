/**
 * `stowage sync`: makes a destination folder hold what a source folder holds, copying only the
 * objects that are missing or differ by size or SHA-256.
 *
 * @module
 */
import { expectPositionals, flag, type Command } from '../command.ts';
import { usageError } from '../failures.ts';
import { statPath } from '../files.ts';
import { formatBytes } from '../format.ts';
import { assertNotInside, copyObject, deleteObject, objectsBelow, refBelow, type FoundObject } from '../objects.ts';

/** Why an object is copied. */
type Reason = 'new' | 'size differs' | 'content differs';

/** `stowage sync`. */
export const syncCommand: Command = {
  name: 'sync',
  summary: 'Copy what is missing or different from one folder to another; optionally delete what the source lacks.',
  usage: ['sync [options] SOURCE DESTINATION'],
  description: [
    'SOURCE and DESTINATION are folders: key prefixes in stores (:photos/, sqlite:./media.db/photos/, s3://bucket/photos/) or local directories, in any combination. Every object below SOURCE is compared with the object of the same relative key below DESTINATION: it is copied when that one is missing, has another size, or has another SHA-256 (the digest stores keep with each object; read and computed where none is kept, and always for local files). A second sync of unchanged folders copies nothing.',
    'Each copy is atomic; an interrupted sync leaves every object either as it was or fully copied, and running it again finishes the job. It ends with one summary line.',
  ],
  options: {
    delete: { type: 'boolean', description: 'also delete objects below DESTINATION that SOURCE does not have' },
    'dry-run': { type: 'boolean', short: 'n', description: 'print what would be copied and deleted, change nothing' },
  },
  examples: [
    ['sync ./site :site/', 'upload a directory into the default store'],
    ['sync --delete :site/ s3://bucket/site/', 'mirror it to S3, deleting what was removed'],
    ['sync -n lake:exports/ ./exports', 'see what a download would change'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 2, 2, 'a SOURCE and a DESTINATION folder');
    const source = context.session.parse(args.positionals[0]!);
    const destination = context.session.parse(args.positionals[1]!);
    if (source.kind === 'stdio' || destination.kind === 'stdio') throw usageError('sync works on folders, not standard input or output', '-');
    await assertNotInside(context, source, destination);
    const dryRun = flag(args, 'dry-run');
    const deleteExtra = flag(args, 'delete');
    const { signal } = context;

    const existing = new Map<string, FoundObject>();
    const destinationExists = destination.kind !== 'path' || (await statPath(destination.path)) !== undefined;
    if (destinationExists) for await (const found of objectsBelow(context, destination)) existing.set(found.relative, found);

    let copied = 0;
    let unchanged = 0;
    let deleted = 0;
    let bytes = 0;
    for await (const found of objectsBelow(context, source)) {
      if (signal.aborted) break;
      const target = existing.get(found.relative);
      existing.delete(found.relative);
      try {
        let reason: Reason | undefined;
        if (target === undefined) reason = 'new';
        else if (target.size !== found.size) reason = 'size differs';
        else if ((await found.sha256()) !== (await target.sha256())) reason = 'content differs';
        if (reason === undefined) {
          unchanged += 1;
          continue;
        }
        const to = target?.ref ?? (await refBelow(context, destination, found.relative, { write: !dryRun }));
        if (dryRun) {
          context.print(`would copy ${found.ref.display} to ${to.display} (${reason})`);
        } else {
          const { size } = await copyObject(context, found.ref, to);
          context.print(`copied ${found.ref.display} to ${to.display} (${reason}, ${formatBytes(size)})`);
          bytes += size;
        }
        copied += 1;
      } catch (error) {
        if (signal.aborted) throw error;
        context.fail(error);
      }
    }
    if (deleteExtra && !signal.aborted) {
      for (const extra of existing.values()) {
        if (signal.aborted) break;
        try {
          if (dryRun) context.print(`would delete ${extra.ref.display}`);
          else {
            await deleteObject(extra.ref, signal);
            context.print(`deleted ${extra.ref.display}`);
          }
          deleted += 1;
        } catch (error) {
          if (signal.aborted) throw error;
          context.fail(error);
        }
      }
    }
    if (!signal.aborted) {
      const removal = deleteExtra ? `, ${deleted} ${dryRun ? 'to delete' : 'deleted'}` : '';
      context.print(
        dryRun
          ? `sync (dry run): ${copied} to copy, ${unchanged} unchanged${removal}`
          : `sync: ${copied} copied (${formatBytes(bytes)}), ${unchanged} unchanged${removal}`,
      );
    }
    return context.status;
  },
};
