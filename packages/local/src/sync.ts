/**
 * Durability: flushing a directory, so that a rename or an unlink in it survives a power loss.
 *
 * @module
 */
import { open } from 'node:fs/promises';

/** `fsync`s a directory (its entries), as needed after a rename when the `fsync` option is on. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems and platforms cannot fsync a directory; the file itself was flushed.
    if (!['EINVAL', 'EPERM', 'EISDIR', 'EBADF'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}
