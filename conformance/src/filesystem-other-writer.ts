/**
 * The other writer of a folder-backed store: another program that writes the root's files directly,
 * the way rsync, editors and most tools replace a file (written beside it, then renamed over it),
 * copies them and deletes them.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { OtherWriter } from './types.ts';

/** Options of {@link filesystemOtherWriter}. */
export interface FilesystemOtherWriterOptions {
  /**
   * Where files are written before they are renamed into the root: a folder outside the root on
   * the same filesystem (a rename cannot cross filesystems). Default: a fresh folder beside the
   * root, removed by `close()`.
   */
  scratch?: string | undefined;
}

/**
 * An {@link OtherWriter} for a store kept in the folder `root` (the local adapter, or any adapter of
 * your own over a folder): `write` puts the bytes in a file outside the root and renames it over
 * the key's file, `copy` does the same with a file copy, `delete` removes the file. It writes no
 * metadata, as plain tools do not.
 *
 * @example
 * ```ts
 * import { filesystemOtherWriter } from '@stowage/conformance'
 * const otherWriter = await filesystemOtherWriter('/srv/store')
 * await otherWriter.write('a.txt', new TextEncoder().encode('written by another program'))
 * await otherWriter.close?.()
 * ```
 */
export async function filesystemOtherWriter(root: string, options: FilesystemOtherWriterOptions = {}): Promise<OtherWriter> {
  const owned = options.scratch === undefined;
  const scratch = options.scratch ?? (await mkdtemp(join(dirname(root), `.${basename(root)}-other-writer-`)));
  const replace = async (key: string, fill: (temporary: string) => Promise<void>): Promise<void> => {
    const temporary = join(scratch, randomBytes(6).toString('hex'));
    await fill(temporary);
    await mkdir(dirname(join(root, key)), { recursive: true });
    await rename(temporary, join(root, key));
  };
  return {
    name: 'the filesystem',
    write: (key, body) => replace(key, (temporary) => writeFile(temporary, body)),
    delete: (key) => rm(join(root, key), { force: true }),
    copy: (from, to) => replace(to, (temporary) => copyFile(join(root, from), temporary)),
    close: async () => {
      if (owned) await rm(scratch, { recursive: true, force: true });
    },
  };
}
