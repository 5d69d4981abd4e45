/**
 * The command's own version, from its package.json.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The version of `@stowage/cli` that is running. */
export function commandVersion(): string {
  if (version === undefined) {
    try {
      // One level up from both src/ and dist/.
      version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
