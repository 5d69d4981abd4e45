/**
 * The `stowage` command from code: mirrors a directory into the embedded store (SQLite in
 * ./.stowage/store.db of the working directory), then lists what it holds.
 *
 *   node --conditions=@stowage/source packages/cli/examples/backup.ts ./some/dir
 */
import { runStowage } from '@stowage/cli';

// Mirror a directory into the embedded store, then list what it holds.
const folder = process.argv[2] ?? '.';
const status = await runStowage(['sync', '--delete', folder, ':backup/']);
if (status === 0) await runStowage(['ls', '-r', '-l', ':backup/']);
process.exitCode = status;
