/**
 * Keeping credentials out of messages. Credentials are masked where they stand (the password of a
 * URL, the value of a secret-looking parameter), whatever they are; a known secret's value is also
 * searched for anywhere in a message, but only when it is long enough that an ordinary word cannot
 * be it (a password `table` must not turn "opening the table failed" into "opening the *** failed").
 *
 * @module
 */

/**
 * The shortest secret whose value {@link maskSecrets} searches for in free text. Shorter ones are
 * still masked where they stand in a URL or a `name=value` pair, but searching for them would
 * replace ordinary words.
 */
export const MIN_SEARCHED_SECRET_LENGTH = 8;

// An access key id is not a secret by itself, but it names the account: masked like one (AWS's accessKeyId, access_key).
const SECRET_NAME = /secret|password|passwd|token|credential|key$|^key|access.?key|sas|signature|^sig$|private/i;

/** Whether an option or parameter name looks like it holds a secret (`password`, `secretAccessKey`, `sasToken`, `sig`, ...). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

// The password of a URL's user info (`scheme://user:password@host`), up to the last `@` before the host.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#]*@/gi;
// A `name=value` pair: a URL's query parameter, a connection string's field.
const NAMED_VALUE = /(^|[?&;,\s])([A-Za-z][A-Za-z0-9_.-]*)=([^=&;,\s'"<>][^&;,\s'"<>]*)/g;

/**
 * `text` with the credentials that stand in it masked: URL passwords (`postgres://app:***@db`) and
 * the values of secret-looking `name=value` pairs (`?password=***`, `AccountKey=***`).
 */
function maskStructure(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@').replace(NAMED_VALUE, (match: string, before: string, name: string) => (isSecretName(name) ? `${before}${name}=***` : match));
}

/**
 * Replaces credentials in `text` with `***`: wherever they stand in a URL or a `name=value` pair,
 * and every occurrence of a value of `secrets` that is at least
 * {@link MIN_SEARCHED_SECRET_LENGTH} characters long.
 *
 * @example
 * ```ts
 * maskSecrets('login failed for hunter2222', ['hunter2222']) // 'login failed for ***'
 * maskSecrets('opening the table failed: postgres://app:table@db/x', ['table']) // 'opening the table failed: postgres://app:***@db/x'
 * ```
 */
export function maskSecrets(text: string, secrets: Iterable<string> = []): string {
  let out = String(text);
  // Known secrets first (longest first, so that one containing another is masked whole), then what
  // stands where a credential goes: the structure must not cut a known secret in two.
  const searched = [...(secrets ?? [])].filter((secret) => typeof secret === 'string' && secret.length >= MIN_SEARCHED_SECRET_LENGTH);
  for (const secret of searched.sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return maskStructure(out);
}

/** Collects the values of secret-looking options (and URL passwords) for masking. */
export function collectSecrets(value: unknown, name: string, extraNames: readonly string[], into: Set<string>): void {
  if (typeof value === 'string') {
    if (isSecretName(name) || extraNames.includes(name)) into.add(value);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      try {
        const url = new URL(value);
        if (url.password) {
          into.add(url.password);
          into.add(decodeURIComponent(url.password));
        }
        for (const [param, paramValue] of url.searchParams) if (isSecretName(param)) into.add(paramValue);
      } catch {
        // Not a valid URL, but one typed by hand: a password in what looks like its user info must
        // not leak through the message that says the URL is invalid.
        const userInfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(value)?.[1];
        const colon = userInfo?.indexOf(':') ?? -1;
        if (userInfo !== undefined && colon !== -1 && colon < userInfo.length - 1) {
          const password = userInfo.slice(colon + 1);
          into.add(password);
          try {
            into.add(decodeURIComponent(password));
          } catch {
            // not percent-encoded
          }
        }
      }
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) collectSecrets(child, key, extraNames, into);
  }
}

/**
 * The secret values in a configuration, an adapter's options or a store URL, for
 * {@link maskSecrets}: the values of secret-looking option names (`password`, `secretAccessKey`,
 * `token`, `sasToken`, ...) and of `optionNames`, URL passwords, and secret-looking query
 * parameters of URL strings. Substitute `${ENV}` references first (`substituteEnv`), so that the
 * values found are the ones that will be used.
 *
 * @example
 * ```ts
 * const secrets = findSecrets({ options: { url: 'postgres://app:hunter22@db/app' } })
 * maskSecrets('login failed for hunter22', secrets) // 'login failed for ***'
 * ```
 */
export function findSecrets(value: unknown, optionNames: readonly string[] = []): Set<string> {
  const secrets = new Set<string>();
  collectSecrets(value, '', Array.isArray(optionNames) ? optionNames : [], secrets);
  return secrets;
}

/** A URL with its password and secret-looking query parameters masked, for messages. */
export function maskUrl(url: string): string {
  const secrets = new Set<string>();
  collectSecrets(String(url), 'url', [], secrets);
  return maskSecrets(String(url), secrets);
}
