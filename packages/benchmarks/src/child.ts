/**
 * The entry of a child-process case: `node --conditions=@stowage/source child.ts '{"suite","name","params"}'`.
 * Imports the suite module, runs `childCases[name](params)` and prints one JSON line: the case's
 * metrics and the process's peak RSS, or `{ "error" }`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { suiteModule } from './suites/index.ts';

/**
 * The process's own peak RSS in MiB. On Linux `VmHWM` of the address space this process executed
 * into: `getrusage`'s `ru_maxrss` (Node's `resourceUsage().maxRSS`) keeps the high-water mark of the
 * forked copy of the parent across `execve`, so a child of a 1 GiB parent reports 1 GiB whatever it does.
 */
function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS / 1024;
}

const { suite, name, params } = JSON.parse(process.argv[2] ?? '{}') as { suite: string; name: string; params: Record<string, unknown> };
try {
  const module = await suiteModule(suite);
  const run = module.childCases?.[name];
  if (!run) throw new Error(`the suite ${suite} has no child case ${name}`);
  const metrics = await run(params);
  const peakRssMiB = peakRss();
  process.stdout.write(`${JSON.stringify({ metrics, peakRssMiB })}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message ?? String(error) })}\n`);
  process.exit(1);
}
