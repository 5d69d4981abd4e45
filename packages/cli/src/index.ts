/**
 * `@stowage/cli`: the `stowage` command. Install it globally for the command
 * (`npm install -g @stowage/cli`); this entry point runs the same command from code and exposes the
 * location grammar and the exit statuses.
 *
 * @example
 * ```ts
 * import { runStowage } from '@stowage/cli'
 * const status = await runStowage(['cp', './report.pdf', ':reports/q3.pdf'])
 * ```
 *
 * @module
 */
export { EXIT_CODES, EXIT_TERMINATED, type FailureCode } from './failures.ts';
export {
  STORE_URL_SHAPES,
  parseLocation,
  type Location,
  type LocationContext,
  type StoreLocation,
  type StoreRef,
  type StoreUrlShape,
} from './locations.ts';
export { CONFIG_FILE_NAMES, CONFIG_VARIABLE, type CliConfig, type CliStoreConfig } from './config.ts';
export { LINK_BASE_URL_VARIABLE, LINK_SECRET_VARIABLE } from './links.ts';
export { DEFAULT_MAX_UPLOAD_SIZE, DEFAULT_SERVE_HOST, DEFAULT_SERVE_LIMITS, DEFAULT_SERVE_PORT } from './commands/serve.ts';
export { EMBEDDED_STORE_PATH } from './stores.ts';
export { PROGRESS_THRESHOLD } from './progress.ts';
export { runStowage, type RunOptions } from './run.ts';
export type { Io } from './command.ts';
