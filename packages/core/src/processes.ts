/**
 * Who a process is and whether it still runs, for adapters that reclaim what a crashed writer left
 * behind (local's locks and temporary files, SQLite's staged chunks): a leftover that names this
 * machine and a process that no longer runs is a dead writer's, and is reclaimed at once.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

/** A short tag of this machine's name (8 hex digits), so that a leftover of another host is never taken for one of ours. */
export const HOST_TAG: string = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** Whether the process `pid` on this machine is alive (a process we may not signal counts as alive). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    // Signal 0 checks existence and permission without delivering anything.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a leftover whose owner is `pid` on the host tagged `host` belongs to a process known to be gone (same host, pid not running). */
export function isOwnerGone(host: string, pid: number): boolean {
  return host === HOST_TAG && !isProcessAlive(pid);
}
