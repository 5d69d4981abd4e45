#!/usr/bin/env node
/**
 * The `stowage` binary: runs {@link runStowage} with the process's streams. Ctrl-C (SIGINT) or
 * SIGTERM aborts the run through an `AbortSignal` that every store operation honours, so that the
 * object being written is not stored and its destination is left as it was; a second Ctrl-C exits
 * at once.
 *
 * @module
 */
import { runStowage } from './run.ts';

// Node's own process warnings (a dependency that stacks more than ten listeners on one stream, as the
// GCS client does on large downloads, or calls a deprecated API) speak to the developers of those
// packages, not to the command's user, whose standard error carries results and failures only:
// shown with --verbose alone.
process.removeAllListeners('warning');
if (process.argv.includes('--verbose') || process.argv.includes('-v')) {
  process.on('warning', (warning) => process.stderr.write(`stowage: node warning: ${warning.name}: ${warning.message}\n`));
}

const controller = new AbortController();
let interrupts = 0;

function onSignal(name: 'SIGINT' | 'SIGTERM'): void {
  interrupts += 1;
  if (interrupts > 1) process.exit(name === 'SIGTERM' ? 143 : 130);
  controller.abort(Object.assign(new Error(`interrupted by ${name}`), { signal: name }));
}

process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  controller.abort(error);
});

const status = await runStowage(process.argv.slice(2), { signal: controller.signal });
// Standard input may still hold the process open (a copy from `-` that was interrupted): flush the
// output, then exit with the status.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
process.exit(status);
