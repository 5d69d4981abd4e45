/**
 * The command table. Every command is one entry; `stowage --help` lists them in this order.
 *
 * @module
 */
import type { Command } from '../command.ts';
import { certifyCommand } from './certify.ts';
import { cpCommand, mvCommand } from './cp.ts';
import { doctorCommand } from './doctor.ts';
import { lsCommand } from './ls.ts';
import { catCommand, statCommand } from './read.ts';
import { rmCommand } from './rm.ts';
import { signCommand } from './sign.ts';
import { syncCommand } from './sync.ts';

/**
 * Every command, in the order the help lists them. `serve` (a store over HTTP, with Range, ETag
 * and signed links) joins here with stowage's HTTP package; until then `stowage serve` is an
 * unknown command whose message says so ({@link PLANNED_COMMANDS}).
 */
export const COMMANDS: readonly Command[] = [
  cpCommand,
  lsCommand,
  catCommand,
  statCommand,
  rmCommand,
  mvCommand,
  signCommand,
  syncCommand,
  certifyCommand,
  doctorCommand,
];

/** Commands that do not exist yet, with what to tell someone who asks for one. */
export const PLANNED_COMMANDS: Readonly<Record<string, string>> = {
  serve: 'serving a store over HTTP comes with stowage\'s HTTP package, which this version of the command does not include yet',
};
