/**
 * The overall help: commands, the location grammar, configuration and exit codes.
 *
 * @module
 */
import type { Command } from './command.ts';
import { CONFIG_FILE_NAMES, CONFIG_VARIABLE } from './config.ts';
import { EXIT_CODES } from './failures.ts';
import { LINK_BASE_URL_VARIABLE, LINK_SECRET_VARIABLE } from './links.ts';
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
  s3://BUCKET/KEY?region=R      S3 (@stowage/s3); ?endpoint=URL for MinIO, R2, Ceph; credentials from
                                the AWS environment (AWS_ACCESS_KEY_ID, ..., AWS_ENDPOINT_URL_S3)
  gs://BUCKET/KEY               Google Cloud Storage (@stowage/gcs); Application Default Credentials
                                (GOOGLE_APPLICATION_CREDENTIALS); STORAGE_EMULATOR_HOST for an emulator
  az://CONTAINER@ACCOUNT/KEY    Azure Blob Storage (@stowage/azure); AZURE_STORAGE_CONNECTION_STRING,
                                or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or a SAS
  -                             standard input (as a source) or output (as a destination)
  anything else                 a local file or directory (./name:with-colon for a name with a colon)
  A key ending in / (or an empty key) is a folder. Keys are taken literally, never percent-decoded.

Configuration:
  --config FILE, else $${CONFIG_VARIABLE}, else ${CONFIG_FILE_NAMES.join(', ')} in the working
  directory. JSON or YAML: { "backends": { NAME: { "type", "options" } | { "url" } },
  "stores": { NAME: { "backend", "root", "maxSize", "links": { "baseUrl" } } }, "default": NAME,
  "links": { "secrets" } }. Strings may use \${ENV} and \${ENV:-default}; secrets are masked in
  every message.

Signed links (stowage serve, and stowage sign for stores that cannot sign themselves):
  $${LINK_SECRET_VARIABLE}          the HMAC secrets (or links.secrets), at least 32 characters
                                each, comma-separated: the first signs, every one verifies
  $${LINK_BASE_URL_VARIABLE}        where stowage serve serves the store, as clients reach it (or
                                sign --base-url, or the store's links.baseUrl)
  stowage serve stops on Ctrl-C with status 0.

Exit status:
  0 success          ${EXIT_CODES.USAGE} usage             ${EXIT_CODES.NOT_FOUND} not found           ${EXIT_CODES.INVALID_PATH} invalid key or input   ${EXIT_CODES.ALREADY_EXISTS} conflict (exists, changed)
  ${EXIT_CODES.CAPABILITY_NOT_SUPPORTED} not supported    ${EXIT_CODES.PERMISSION_DENIED} permission denied ${EXIT_CODES.UNAVAILABLE} unavailable (retry)  ${EXIT_CODES.CONFIG} configuration         ${EXIT_CODES.ERROR} anything else
  ${EXIT_CODES.STORAGE_FULL} storage full (free space)  ${EXIT_CODES.ABORTED} interrupted (Ctrl-C); nothing partial is left at the destination
  Errors are one line on standard error: stowage: <CODE>: <message> (<location>); --verbose adds the causes.
`;
}
