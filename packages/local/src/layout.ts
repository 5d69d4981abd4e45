/**
 * Where things live under the root: objects as plain files at their key's path, and stowage's own
 * files (temporary files, metadata, locks) in the reserved `.stowage` directory.
 *
 * ```
 * <root>/a/b.txt                           the object "a/b.txt", exactly as users see it
 * <root>/.stowage/tmp/<host>.<pid>.<id>    bodies being written, renamed into place on commit
 * <root>/.stowage/meta/<h2>/<h>/<ino>.json metadata of one version of the key whose SHA-256 is <h>
 * <root>/.stowage/locks/<h>.lock           held while a key is being changed
 * ```
 *
 * Metadata and lock files are named by the SHA-256 of the key, so a key of any length (up to 1024
 * bytes) maps to a file name far below `NAME_MAX`.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { HOST_TAG } from '@stowage/core/node';
import { hasCode } from './fs-errors.ts';

/**
 * The name of the directory under the root that holds stowage's own files. Declared as a reserved
 * segment: core refuses every key, prefix and root with a segment of this name, at any depth (a
 * store nested in this one's folder keeps its internals under its own `.stowage`).
 */
export const INTERNAL_DIR = '.stowage';

/** A short tag of this machine's name, so that temporary files of another host are never swept as ours. */
export { HOST_TAG };

/** The SHA-256 (hex) of a key, which names its metadata directory and lock file. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Paths inside one root. `root` must already be a real path (no symbolic links). */
export class RootLayout {
  /** The root directory (a real path). */
  readonly root: string;
  /** `<root>/.stowage`. */
  readonly internalDir: string;
  /** Where bodies are written before they are renamed into place (same filesystem as the root). */
  readonly tmpDir: string;
  /** Where metadata files live. */
  readonly metaDir: string;
  /** Where lock files live. */
  readonly locksDir: string;

  constructor(root: string) {
    this.root = root;
    this.internalDir = join(root, INTERNAL_DIR);
    this.tmpDir = join(this.internalDir, 'tmp');
    this.metaDir = join(this.internalDir, 'meta');
    this.locksDir = join(this.internalDir, 'locks');
  }

  /** The file path of a key (or of a folder, given its key without the trailing `/`). */
  pathOf(key: string): string {
    return key === '' ? this.root : this.root + sep + (sep === '/' ? key : key.split('/').join(sep));
  }

  /** The directory that holds the metadata files of a key's versions. */
  metadataDirOf(key: string): string {
    const hash = hashKey(key);
    return join(this.metaDir, hash.slice(0, 2), hash);
  }

  /** The lock file of a key. */
  lockPathOf(key: string): string {
    return join(this.locksDir, `${hashKey(key)}.lock`);
  }

  /**
   * Creates `dir` (a directory inside `.stowage`) and `.stowage` itself when missing. Never creates
   * the root: when the root is gone, this fails rather than quietly starting a new one.
   */
  async ensureInternalDirectory(dir: string): Promise<void> {
    try {
      await mkdir(this.internalDir);
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
    }
    await mkdir(dir, { recursive: true });
  }

  /** A fresh temporary file path; the name carries host and pid so that leftovers of dead writers can be swept. */
  temporaryPath(suffix = ''): string {
    return join(this.tmpDir, `${HOST_TAG}.${process.pid}.${randomBytes(8).toString('hex')}${suffix}`);
  }
}
