/**
 * Whether a process is still running, for recovering what a crashed process left behind (its locks
 * and temporary files).
 *
 * @module
 */

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
