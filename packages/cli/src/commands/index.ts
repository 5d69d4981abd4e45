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
import { serveCommand } from './serve.ts';
import { signCommand } from './sign.ts';
import { syncCommand } from './sync.ts';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  cpCommand,
  lsCommand,
  catCommand,
  statCommand,
  rmCommand,
  mvCommand,
  signCommand,
  serveCommand,
  syncCommand,
  certifyCommand,
  doctorCommand,
];
