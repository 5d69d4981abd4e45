/**
 * A small real filesystem for full-disk tests: a tmpfs of a few MiB, mounted as root (or through
 * passwordless `sudo`, as on CI runners) and owned by the current user. Where neither is possible
 * the tests that need one are skipped with the reason, unless servers are required
 * (`STOWAGE_TEST_REQUIRE_SERVERS`, name `small-filesystem`), where that is a failure.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, rmdir, statfs, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serverRequired } from './process.ts';

const run = promisify(execFile);

/** A mounted small filesystem. */
export interface SmallFilesystem {
  /** Where it is mounted (an empty directory of the current user's). */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The bytes still free, as the filesystem reports them. */
  free(): Promise<number>;
  /**
   * Fills it up to the last byte with one ballast file (leaving `leave` bytes free) and returns how
   * to release that many bytes again (or all of them).
   */
  fill(leave?: number): Promise<{ release(bytes?: number): Promise<void> }>;
  /** Unmounts it and removes its mount point. */
  unmount(): Promise<void>;
}

/** What {@link mountSmallFilesystem} returns: a filesystem, or why the tests that need one are skipped. */
export type MountedFilesystem = { filesystem: SmallFilesystem; skip?: undefined } | { filesystem?: undefined; skip: string };

async function canSudo(): Promise<boolean> {
  try {
    await run('sudo', ['-n', 'true'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Mounts a tmpfs of `size` bytes (rounded up to whole pages) on a fresh directory. Skipped with
 * the reason on a machine where the tests can mount nothing.
 */
export async function mountSmallFilesystem(size: number): Promise<MountedFilesystem> {
  const root = process.getuid?.() === 0;
  if (process.platform !== 'linux' || (!root && !(await canSudo()))) {
    const reason = `a full-disk test needs a small tmpfs, which only root (or passwordless sudo) can mount on Linux; this is ${process.platform}, uid ${process.getuid?.() ?? 'unknown'}`;
    if (serverRequired('small-filesystem')) throw new Error(`${reason} (STOWAGE_TEST_REQUIRE_SERVERS requires it)`);
    return { skip: reason };
  }
  const path = await mkdtemp(join(tmpdir(), 'stowage-small-fs-'));
  const options = `size=${size},mode=0755,uid=${process.getuid!()},gid=${process.getgid!()}`;
  const command = (argv: string[]): Promise<unknown> => (root ? run(argv[0]!, argv.slice(1)) : run('sudo', ['-n', ...argv]));
  try {
    await command(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', path]);
  } catch (error) {
    await rmdir(path).catch(() => {});
    const reason = `mounting a ${size}-byte tmpfs failed: ${(error as Error).message}`;
    if (serverRequired('small-filesystem')) throw new Error(`${reason} (STOWAGE_TEST_REQUIRE_SERVERS requires it)`, { cause: error });
    return { skip: reason };
  }
  let ballasts = 0;
  const filesystem: SmallFilesystem = {
    path,
    size,
    async free() {
      const stats = await statfs(path);
      return stats.bavail * stats.bsize;
    },
    async fill(leave = 0) {
      const ballast = join(path, `.ballast-${++ballasts}`);
      const handle = await open(ballast, 'wx');
      const block = Buffer.alloc(64 * 1024, 0xba);
      let written = 0;
      try {
        for (;;) {
          const room = (await filesystem.free()) - leave;
          if (room <= 0) break;
          try {
            const { bytesWritten } = await handle.write(block, 0, Math.min(block.byteLength, room));
            written += bytesWritten;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw error;
          }
        }
      } finally {
        await handle.close();
      }
      return {
        async release(bytes = written) {
          // Truncating frees whole pages from the end: what is left of the ballast stays allocated.
          const remaining = Math.max(0, written - bytes);
          if (remaining === 0) await unlink(ballast).catch(() => {});
          else {
            const again = await open(ballast, 'r+');
            try {
              await again.truncate(remaining);
            } finally {
              await again.close();
            }
          }
          written = remaining;
        },
      };
    },
    async unmount() {
      await command(['umount', path]).catch(() => command(['umount', '-l', path]));
      await rm(path, { recursive: true, force: true });
    },
  };
  return { filesystem };
}
