/**
 * The overall help: commands, the location grammar, configuration and exit codes.
 *
 * @module
 */
import type { Command } from './command.ts';
import { CONFIG_FILE_NAMES, CONFIG_VARIABLE } from './config.ts';
import { EXIT_CODES } from './failures.ts';
import { EMBEDDED_STORE_PATH } from './stores.ts';

/** `stowage --help`. */
export function overallHelp(commands: readonly Command[], version: string): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `stowage ${version}: one command for every stowage store.

Usage: stowage <command> [options] [arguments]
       stowage <command> --help      the options and examples of one command

Commands:
${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Locations:
  :KEY                          KEY in the default store: the configuration's "default", else
                                the embedded SQLite store ./${EMBEDDED_STORE_PATH} (created on first write)
  NAME:KEY                      KEY in the store NAME of the configuration
  sqlite:FILE.db/KEY            a SQLite store; the file runs through the first segment ending in
                                .db, .db3, .sqlite or .sqlite3 (sqlite:FILE//KEY for any other name)
  file:PATH                     PATH in the local store rooted at the working directory
  file:DIR//KEY                 KEY in the local store rooted at DIR
  postgres://USER@HOST/DB/KEY   a SQL store on PostgreSQL (mysql://, mariadb:// alike); ?tableName=T
  memory://NAME/KEY             an in-memory store that lives as long as the command
  s3://BUCKET/KEY  gs://BUCKET/KEY  az://CONTAINER/KEY
                                cloud stores, once @stowage/s3, @stowage/gcs or @stowage/azure is installed
  -                             standard input (as a source) or output (as a destination)
  anything else                 a local file or directory (./name:with-colon for a name with a colon)
  A key ending in / (or an empty key) is a folder. Keys are taken literally, never percent-decoded.

Configuration:
  --config FILE, else $${CONFIG_VARIABLE}, else ${CONFIG_FILE_NAMES.join(', ')} in the working
  directory. JSON or YAML: { "backends": { NAME: { "type", "options" } | { "url" } },
  "stores": { NAME: { "backend", "root", "maxSize" } }, "default": NAME }. Strings may use \${ENV}
  and \${ENV:-default}; secrets are masked in every message.

Exit status:
  0 success          ${EXIT_CODES.USAGE} usage             ${EXIT_CODES.NOT_FOUND} not found           ${EXIT_CODES.INVALID_PATH} invalid key or input   ${EXIT_CODES.ALREADY_EXISTS} conflict (exists, changed)
  ${EXIT_CODES.CAPABILITY_NOT_SUPPORTED} not supported    ${EXIT_CODES.PERMISSION_DENIED} permission denied ${EXIT_CODES.UNAVAILABLE} unavailable (retry)  ${EXIT_CODES.CONFIG} configuration         ${EXIT_CODES.ERROR} anything else
  ${EXIT_CODES.ABORTED} interrupted (Ctrl-C); nothing partial is left at the destination
  Errors are one line on standard error: stowage: <CODE>: <message> (<location>); --verbose adds the causes.
`;
}
