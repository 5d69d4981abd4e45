/**
 * HMAC-signed links for backends that cannot sign URLs themselves (SQL, local, memory): expiring,
 * bound to one method, one key and (for uploads) one content type, verified by the handler of
 * `createHandler`. Several secrets are accepted at once, so that a secret can be rotated without
 * breaking the links already handed out.
 *
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, assertValidKey, normalizeRoot, type UrlSigner } from '@stowage/core';
import { keyToPath } from './url-keys.ts';

/** Options of {@link createSigner}. */
export interface SignerOptions {
  /**
   * Where the handler is mounted, as clients reach it: `https://files.example.com/files/`. A key's
   * URL is this plus the key (relative to `root`), each segment percent-encoded.
   */
  baseUrl: string | URL;
  /**
   * The secrets: the first signs, every one verifies (rotate by putting the new one first and
   * dropping the old one once its links have expired). Each at least 32 characters.
   */
  secrets: string | readonly string[];
  /** The root of the store the handler serves (default `''`); keys outside it cannot be signed. */
  root?: string | undefined;
}

/** What a verified link grants. */
export interface VerifiedLink {
  readonly method: 'GET' | 'PUT';
  /** The absolute key (the root applied). */
  readonly key: string;
  /** When it expires, in seconds since the epoch. */
  readonly expires: number;
  /** For an upload: the content type the uploader must send. */
  readonly contentType?: string | undefined;
}

/** Why a link was refused (for logs: never shown to the client). */
export type LinkProblem = 'unsigned' | 'malformed' | 'unknown-key-id' | 'bad-signature' | 'expired' | 'wrong-method';

/** The query parameters of a signed link. */
export const LINK_PARAMETERS = { expires: 'expires', method: 'method', keyId: 'kid', contentType: 'ct', signature: 'sig' } as const;

const MIN_SECRET_LENGTH = 32;

/** The secret's id in links: a short hash, so that links name the secret without revealing it. */
function secretId(secret: string): string {
  return createHash('sha256').update(`stowage-link-key:${secret}`).digest('base64url').slice(0, 10);
}

function canonical(method: string, key: string, expires: number, contentType: string | undefined): string {
  return ['stowage-link-v1', method, key, String(expires), contentType ?? ''].join('\n');
}

/** A URL signer whose links the handler of `createHandler` verifies. */
export class HmacSigner implements UrlSigner {
  /** The root of the store the handler serves. */
  readonly root: string;
  /** The base URL links start with (ends with `/`). */
  readonly baseUrl: URL;
  readonly #secrets: ReadonlyMap<string, Buffer>;
  readonly #signingId: string;

  constructor(options: SignerOptions) {
    const secrets = typeof options.secrets === 'string' ? [options.secrets] : [...(options.secrets ?? [])];
    if (secrets.length === 0) throw new InvalidArgumentError('createSigner needs at least one secret');
    const map = new Map<string, Buffer>();
    for (const [index, secret] of secrets.entries()) {
      if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
        throw new InvalidArgumentError(`secret number ${index + 1} must be a string of at least ${MIN_SECRET_LENGTH} characters`);
      }
      map.set(secretId(secret), Buffer.from(secret, 'utf8'));
    }
    let base: URL;
    try {
      base = new URL(String(options.baseUrl));
    } catch (cause) {
      throw new InvalidArgumentError(`baseUrl must be an absolute URL, got ${JSON.stringify(String(options.baseUrl))}`, { cause });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidArgumentError(`baseUrl must be an http(s) URL, got ${base.protocol}`);
    if (base.search || base.hash) throw new InvalidArgumentError('baseUrl must not have a query or a fragment');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.baseUrl = base;
    this.root = normalizeRoot(options.root);
    this.#secrets = map;
    this.#signingId = secretId(secrets[0]!);
  }

  /** The path the handler is mounted at: the base URL's path (`/files/`). */
  get basePath(): string {
    return this.baseUrl.pathname;
  }

  #mac(id: string, text: string): Buffer {
    return createHmac('sha256', this.#secrets.get(id)!).update(text).digest();
  }

  /** A link for `key` (absolute, below the root). Called by `Store.signUrl` through `store.withSigner(signer)`. */
  sign(key: string, options: { method: 'GET' | 'PUT'; expiresIn: number; contentType?: string | undefined }): string {
    assertValidKey(key);
    if (!key.startsWith(this.root)) throw new InvalidArgumentError(`${JSON.stringify(key)} is outside the served root ${JSON.stringify(this.root)}`, { key });
    const expires = Math.floor(Date.now() / 1000) + options.expiresIn;
    const contentType = options.method === 'PUT' ? options.contentType : undefined;
    const url = new URL(keyToPath(key.slice(this.root.length)), this.baseUrl);
    url.searchParams.set(LINK_PARAMETERS.method, options.method);
    url.searchParams.set(LINK_PARAMETERS.expires, String(expires));
    if (contentType !== undefined) url.searchParams.set(LINK_PARAMETERS.contentType, contentType);
    url.searchParams.set(LINK_PARAMETERS.keyId, this.#signingId);
    url.searchParams.set(LINK_PARAMETERS.signature, this.#mac(this.#signingId, canonical(options.method, key, expires, contentType)).toString('base64url'));
    return url.toString();
  }

  /**
   * Checks the link's parameters for a request of `method` (`HEAD` counts as `GET`) on the absolute
   * `key`: the link, or why it is refused.
   */
  verify(method: string, key: string, query: URLSearchParams, now = Date.now()): VerifiedLink | LinkProblem {
    const signature = query.get(LINK_PARAMETERS.signature);
    if (signature === null) return 'unsigned';
    const linkMethod = query.get(LINK_PARAMETERS.method);
    const expiresText = query.get(LINK_PARAMETERS.expires) ?? '';
    const id = query.get(LINK_PARAMETERS.keyId) ?? '';
    const contentType = query.get(LINK_PARAMETERS.contentType) ?? undefined;
    if ((linkMethod !== 'GET' && linkMethod !== 'PUT') || !/^\d{1,12}$/.test(expiresText)) return 'malformed';
    if (!this.#secrets.has(id)) return 'unknown-key-id';
    const expires = Number(expiresText);
    const expected = this.#mac(id, canonical(linkMethod, key, expires, contentType));
    const given = Buffer.from(signature, 'base64url');
    // A different key, method or expiry gives a different MAC: all of them are refused here.
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) return 'bad-signature';
    if (now / 1000 > expires) return 'expired';
    const requested = method === 'HEAD' ? 'GET' : method;
    if (requested !== linkMethod) return 'wrong-method';
    return { method: linkMethod, key, expires, contentType };
  }
}

/**
 * A URL signer for `store.withSigner(...)` and `createHandler(...)`.
 *
 * @example
 * ```ts
 * const signer = createSigner({ baseUrl: 'https://files.example.com/files/', secrets: [process.env.LINK_SECRET!] })
 * const store = (await openStore('sqlite:./files.db')).withSigner(signer)
 * const url = await store.signUrl('reports/q3.pdf', { expiresIn: 3600 })
 * ```
 */
export function createSigner(options: SignerOptions): HmacSigner {
  return new HmacSigner(options);
}
