/**
 * Signed links for stores whose backend cannot sign URLs itself (SQLite, PostgreSQL, MySQL, local
 * folders, memory): HMAC links of `@stowage/http`, verified by `stowage serve` and handed out by
 * `stowage sign`. Both take the same secrets, so a link that one signs the other accepts:
 *
 * - the secrets: `links.secrets` of the configuration, else `$STOWAGE_LINK_SECRET` (several separated
 *   by commas: the first signs, every one verifies, so a secret is rotated by putting the new one
 *   first and dropping the old one once its links have expired);
 * - the base URL where clients reach the server of a store: `sign --base-url`, else the store's
 *   `links.baseUrl` in the configuration, else `$STOWAGE_LINK_BASE_URL`.
 *
 * @module
 */
import type { HmacSigner, UploadLinkPolicy } from '@stowage/http';
import { configError, usageError } from './failures.ts';

/** The environment variable that holds the link secrets (comma-separated, the first signs). */
export const LINK_SECRET_VARIABLE = 'STOWAGE_LINK_SECRET';

/** The environment variable that holds the base URL of links, for stores without a configured one. */
export const LINK_BASE_URL_VARIABLE = 'STOWAGE_LINK_BASE_URL';

/** The shortest secret the signer accepts. */
export const MIN_LINK_SECRET_LENGTH = 32;

/** Splits the value of {@link LINK_SECRET_VARIABLE} into its secrets. */
export function splitSecrets(value: string): string[] {
  return value
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret !== '');
}

/**
 * Checks the secrets from `source` (named in the message, never a value): at least one, each at
 * least {@link MIN_LINK_SECRET_LENGTH} characters. A configuration error otherwise.
 */
export function checkSecrets(secrets: readonly string[], source: string): string[] {
  if (secrets.length === 0) throw configError(`${source} holds no link secret`);
  secrets.forEach((secret, index) => {
    if (secret.length < MIN_LINK_SECRET_LENGTH) {
      throw configError(`${source}: link secret number ${index + 1} is shorter than ${MIN_LINK_SECRET_LENGTH} characters (generate one with: openssl rand -base64 32)`);
    }
  });
  return [...secrets];
}

/** Where a base URL came from, for messages. */
export type BaseUrlSource = 'option' | 'config' | 'env';

/**
 * Checks a base URL: absolute, http or https, without query or fragment. A usage error when it came
 * from the command line, a configuration error otherwise.
 */
export function checkBaseUrl(text: string, source: string, from: BaseUrlSource): string {
  const fail = (why: string) => (from === 'option' ? usageError(`${source} ${why}`) : configError(`${source} ${why}`));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail('must be an absolute http or https URL, such as http://127.0.0.1:8080/');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`must be an http or https URL, not ${url.protocol}`);
  if (url.search !== '' || url.hash !== '') throw fail('must not have a query or a fragment');
  return url.href;
}

/** The signer of links to a store rooted at `root`, served at `baseUrl`, with the rules for its upload links. */
export async function linkSigner(secrets: readonly string[], baseUrl: string, root: string, uploads: UploadLinkPolicy = {}): Promise<HmacSigner> {
  const { createSigner } = await import('@stowage/http');
  return createSigner({ baseUrl, secrets, root, uploads });
}
