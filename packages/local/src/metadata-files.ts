/**
 * Metadata files: content type, user metadata and SHA-256 of each stored version.
 *
 * A filesystem keeps none of these, so each version gets a small JSON file in
 * `.stowage/meta/<h2>/<hash of key>/<inode>.json`. The record names the key and the exact version
 * it describes (inode, size, modification time in nanoseconds):
 *
 * - A metadata file is written *before* its data file is renamed into place, and the one that
 *   applies is chosen by the data file's inode. So data and metadata switch together at the rename:
 *   a reader sees the old file with the old record or the new file with the new one.
 * - A file changed behind stowage's back (an editor, `cp`) no longer matches its record, which is
 *   then ignored: `stat` answers as for any file without metadata (type inferred from the extension).
 * - Records of replaced versions are removed after each commit, under the key's lock.
 *
 * @module
 */
import { open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from './fs-errors.ts';
import type { RootLayout } from './layout.ts';
import { syncDirectory } from './sync.ts';
import type { FileVersion } from './versions.ts';

/** What a record read asks for at first: a record with 2 KiB of metadata fits easily. */
const RECORD_READ_BYTES = 8192;

/** What the metadata file of a version holds besides the version itself. */
export interface StoredMetadata {
  /** The content type given (or inferred) at write time. */
  contentType: string;
  /** User metadata exactly as written. */
  metadata: Record<string, string>;
  /** Lowercase hex SHA-256 of the content, when known. */
  sha256?: string | undefined;
}

/** The JSON on disk (bigints as decimal strings). */
interface MetadataRecord {
  format: 1;
  key: string;
  ino: string;
  size: number;
  mtimeNs: string;
  contentType: string;
  metadata: Record<string, string>;
  sha256?: string;
}

function fileName(ino: bigint): string {
  return `${ino.toString()}.json`;
}

/**
 * Writes the metadata of `version` of `key` (atomically: a temporary file renamed into place) and
 * returns its path, so that a failed commit can remove it again.
 */
export async function writeMetadata(
  layout: RootLayout,
  key: string,
  version: FileVersion,
  stored: StoredMetadata,
  fsync: boolean,
): Promise<string> {
  const record: MetadataRecord = {
    format: 1,
    key,
    ino: version.ino.toString(),
    size: version.size,
    mtimeNs: version.mtimeNs.toString(),
    contentType: stored.contentType,
    metadata: stored.metadata,
  };
  if (stored.sha256 !== undefined) record.sha256 = stored.sha256;
  const dir = layout.metadataDirOf(key);
  const target = join(dir, fileName(version.ino));
  const temporary = layout.temporaryPath('.json');
  try {
    const handle = await open(temporary, 'wx').catch(async (error: unknown) => {
      if (!hasCode(error, 'ENOENT')) throw error;
      await layout.ensureInternalDirectory(layout.tmpDir);
      return open(temporary, 'wx');
    });
    try {
      await handle.writeFile(JSON.stringify(record));
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, target);
    } catch (error) {
      if (!hasCode(error, 'ENOENT')) throw error;
      await layout.ensureInternalDirectory(dir);
      await rename(temporary, target);
    }
    if (fsync) await syncDirectory(dir);
    return target;
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/** The metadata of exactly this version of `key`, or undefined when there is none (or it is stale). */
/**
 * A small file's text in three system calls (open, read, close): records are a few KiB, so the
 * `fstat` that `readFile` makes to size its buffer is not needed.
 */
async function readSmallFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(RECORD_READ_BYTES);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, filled);
      filled += bytesRead;
      if (bytesRead === 0 || filled < buffer.byteLength) return buffer.toString('utf8', 0, filled);
      const grown = Buffer.allocUnsafe(buffer.byteLength * 2);
      buffer.copy(grown);
      buffer = grown;
    }
  } finally {
    await handle.close();
  }
}

export async function readMetadata(layout: RootLayout, key: string, version: FileVersion): Promise<StoredMetadata | undefined> {
  let text: string;
  try {
    text = await readSmallFile(join(layout.metadataDirOf(key), fileName(version.ino)));
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
  let record: Partial<MetadataRecord>;
  try {
    record = JSON.parse(text) as Partial<MetadataRecord>;
  } catch {
    return undefined; // a damaged record is as good as none
  }
  if (
    record.format !== 1 ||
    record.key !== key ||
    record.ino !== version.ino.toString() ||
    record.size !== version.size ||
    record.mtimeNs !== version.mtimeNs.toString() ||
    typeof record.contentType !== 'string' ||
    typeof record.metadata !== 'object' ||
    record.metadata === null
  ) {
    return undefined;
  }
  return { contentType: record.contentType, metadata: { ...record.metadata }, sha256: typeof record.sha256 === 'string' ? record.sha256 : undefined };
}

/** Removes every metadata file of `key` except the one of the inode `keep` (call under the key's lock). */
export async function removeOtherMetadata(layout: RootLayout, key: string, keep: bigint): Promise<void> {
  const dir = layout.metadataDirOf(key);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return;
    throw error;
  }
  const kept = fileName(keep);
  await Promise.all(names.filter((name) => name !== kept).map((name) => unlink(join(dir, name)).catch(() => {})));
}

/** Removes all metadata of `key` (call under the key's lock). */
export async function removeMetadata(layout: RootLayout, key: string): Promise<void> {
  await rm(layout.metadataDirOf(key), { recursive: true, force: true });
}
