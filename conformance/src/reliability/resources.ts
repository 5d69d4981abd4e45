/**
 * Resource hygiene, checked rather than assumed: the sockets, file handles and timers a process
 * holds (`process.getActiveResourcesInfo()` and, on Linux, the descriptors in `/proc/self/fd`),
 * before a suite and after its stores are closed.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';

/** The resources held at one moment. */
export interface ResourceSnapshot {
  /** Active handles and requests by type (`TCPSocketWrap`, `FSReqCallback`, `Timeout`, …). */
  readonly active: Readonly<Record<string, number>>;
  /** Open file descriptors (Linux), or undefined elsewhere. */
  readonly descriptors: number | undefined;
}

/** The resource types a closed store must give back. */
const TRACKED = ['TCPSocketWrap', 'TCPServerWrap', 'TCPWRAP', 'PipeWrap', 'FSReqCallback', 'FileHandle', 'FSReqPromise', 'Timeout', 'TTYWrap', 'UDPWrap'];

/** What the process holds now. */
export function resourceSnapshot(): ResourceSnapshot {
  const active: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) active[type] = (active[type] ?? 0) + 1;
  let descriptors: number | undefined;
  try {
    descriptors = readdirSync('/proc/self/fd').length;
  } catch {
    descriptors = undefined;
  }
  return { active, descriptors };
}

function excess(before: ResourceSnapshot, after: ResourceSnapshot, slack: number): string[] {
  const problems: string[] = [];
  for (const type of TRACKED) {
    const more = (after.active[type] ?? 0) - (before.active[type] ?? 0);
    if (more > 0) problems.push(`${more} more ${type}`);
  }
  if (before.descriptors !== undefined && after.descriptors !== undefined && after.descriptors - before.descriptors > slack) {
    problems.push(`${after.descriptors - before.descriptors} more open file descriptors`);
  }
  return problems;
}

/**
 * Waits (up to `withinMs`, default 3 s: closed sockets need a turn of the event loop or two) until
 * the process holds no more sockets, file handles, requests or timers than at `before`, and fails
 * naming the excess otherwise. `slack` descriptors are allowed for what the runtime opens lazily.
 */
export async function expectResourcesReleased(before: ResourceSnapshot, options: { withinMs?: number; slack?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.withinMs ?? 3000);
  let problems: string[];
  for (;;) {
    problems = excess(before, resourceSnapshot(), options.slack ?? 2);
    if (problems.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50).unref());
  }
  assert.deepEqual(problems, [], 'everything the suite opened is released once its stores are closed');
}
