/**
 * HMAC-signed links for backends that cannot sign URLs themselves (SQL, local, memory): expiring,
 * bound to one method, one key and (for uploads) one content type, verified by the handler of
 * `createHandler`. Several secrets are accepted at once, so that a secret can be rotated without
 * breaking the links already handed out.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, assertValidKey, normalizeRoot, validateContentType, type UrlSigner } from '@stowage/core';
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
  /** What every upload (`PUT`) link must carry; the handler refuses upload links without it. */
  uploads?: UploadLinkPolicy | undefined;
}

/** Rules for upload links, set on the signer so that signing and verifying agree. */
export interface UploadLinkPolicy {
  /**
   * Each upload link works once (default false): it carries a random nonce, which the handler
   * records in its `uploads.nonceStore` when the upload starts and refuses ever after (until the
   * link has expired, when the record is dropped). An upload that fails releases its nonce, so
   * the link can be tried again.
   */
  singleUse?: boolean | undefined;
  /**
   * Every upload link names the content type the uploader must send (default false): signing one
   * without `contentType` fails with `INVALID_ARGUMENT`, and the handler refuses one without it.
   */
  requireContentType?: boolean | undefined;
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
  /** For a single-use upload link: its nonce, which the handler records. */
  readonly nonce?: string | undefined;
}

/**
 * The parts of a request a link is checked against, exactly as the client spelled them: a link
 * has one spelling, and any other (a padded or percent-encoded signature, a leading zero,
 * parameters reordered or added) is refused, so that a link can be deny-listed or cached by its text.
 */
export interface LinkRequest {
  /** The request's method (`HEAD` counts as `GET`). */
  readonly method: string;
  /** The absolute key the path names (the root applied). */
  readonly key: string;
  /** The path below the mount point as sent, still percent-encoded (`docs/caf%C3%A9.txt`). */
  readonly path: string;
  /** The query as sent, without the `?`. */
  readonly query: string;
}

/**
 * Why a link was refused (for logs: never shown to the client). `not-canonical`: the link is
 * genuine but spelled otherwise than it was issued; `not-single-use` / `no-content-type`: an upload
 * link without the nonce or content type the signer's {@link UploadLinkPolicy} requires; `used`: a
 * single-use link used already.
 */
export type LinkProblem =
  | 'unsigned'
  | 'malformed'
  | 'unknown-key-id'
  | 'bad-signature'
  | 'not-canonical'
  | 'expired'
  | 'wrong-method'
  | 'not-single-use'
  | 'no-content-type'
  | 'used';

/** The query parameters of a signed link, in the order links carry them. */
export const LINK_PARAMETERS = { method: 'method', expires: 'expires', contentType: 'ct', nonce: 'nonce', keyId: 'kid', signature: 'sig' } as const;

/** What may follow a link's own parameters: `&download` asks for `Content-Disposition: attachment`. */
export const LINK_SUFFIXES: readonly string[] = ['download'];

const MIN_SECRET_LENGTH = 32;
/** A SHA-256 MAC in base64url without padding: 43 characters, the last carrying 4 bits (so one of 16). */
const SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** A nonce: 128 random bits in base64url (22 characters, the last carrying 2 bits). */
const NONCE = /^[A-Za-z0-9_-]{21}[AQgw]$/;
/** Seconds since the epoch in decimal, without leading zeros. */
const EXPIRES = /^(0|[1-9]\d{0,11})$/;

/** The secret's id in links: a short hash, so that links name the secret without revealing it. */
function secretId(secret: string): string {
  return createHash('sha256').update(`stowage-link-key:${secret}`).digest('base64url').slice(0, 10);
}

/** The text the MAC covers. Content types hold no line breaks, so each field is one line. */
function macText(grant: Omit<VerifiedLink, 'key'>, key: string): string {
  const lines = ['stowage-link-v1', grant.method, key, String(grant.expires), grant.contentType ?? ''];
  if (grant.nonce !== undefined) lines.push(`nonce=${grant.nonce}`);
  return lines.join('\n');
}

/** A link's query, in the one spelling the signer issues and the handler accepts. */
function linkQuery(grant: Omit<VerifiedLink, 'key'>, keyId: string, signature: string): string {
  const query = new URLSearchParams();
  query.set(LINK_PARAMETERS.method, grant.method);
  query.set(LINK_PARAMETERS.expires, String(grant.expires));
  if (grant.contentType !== undefined) query.set(LINK_PARAMETERS.contentType, grant.contentType);
  if (grant.nonce !== undefined) query.set(LINK_PARAMETERS.nonce, grant.nonce);
  query.set(LINK_PARAMETERS.keyId, keyId);
  query.set(LINK_PARAMETERS.signature, signature);
  return query.toString();
}

/** Compares two ASCII strings in time that does not depend on where they differ. */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'latin1');
  const right = Buffer.from(b, 'latin1');
  return left.byteLength === right.byteLength && timingSafeEqual(left, right);
}

/** A URL signer whose links the handler of `createHandler` verifies. */
export class HmacSigner implements UrlSigner {
  /** The root of the store the handler serves. */
  readonly root: string;
  /** The base URL links start with (ends with `/`). */
  readonly baseUrl: URL;
  /** The rules for upload links. */
  readonly uploads: Readonly<Required<UploadLinkPolicy>>;
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
    const uploads = options.uploads ?? {};
    if (typeof uploads !== 'object' || uploads === null) throw new InvalidArgumentError('uploads must be an object such as { singleUse: true }');
    this.uploads = Object.freeze({ singleUse: uploads.singleUse === true, requireContentType: uploads.requireContentType === true });
    this.#secrets = map;
    this.#signingId = secretId(secrets[0]!);
  }

  /** The path the handler is mounted at: the base URL's path (`/files/`). */
  get basePath(): string {
    return this.baseUrl.pathname;
  }

  #signature(id: string, grant: Omit<VerifiedLink, 'key'>, key: string): string {
    return createHmac('sha256', this.#secrets.get(id)!).update(macText(grant, key)).digest('base64url');
  }

  /** A link for `key` (absolute, below the root). Called by `Store.signUrl` through `store.withSigner(signer)`. */
  sign(key: string, options: { method: 'GET' | 'PUT'; expiresIn: number; contentType?: string | undefined }): string {
    assertValidKey(key);
    if (!key.startsWith(this.root)) throw new InvalidArgumentError(`${JSON.stringify(key)} is outside the served root ${JSON.stringify(this.root)}`, { key });
    if (options.method !== 'GET' && options.method !== 'PUT') throw new InvalidArgumentError(`method must be 'GET' or 'PUT', got ${JSON.stringify(options.method)}`, { key });
    if (!Number.isSafeInteger(options.expiresIn) || options.expiresIn < 1) throw new InvalidArgumentError(`expiresIn must be a positive whole number of seconds, got ${String(options.expiresIn)}`, { key });
    const upload = options.method === 'PUT';
    const contentType = upload && options.contentType !== undefined ? validateContentType(options.contentType, key) : undefined;
    if (upload && contentType === undefined && this.uploads.requireContentType) {
      throw new InvalidArgumentError('this signer requires a content type on every upload link: pass contentType', { key });
    }
    const grant = {
      method: options.method,
      expires: Math.floor(Date.now() / 1000) + options.expiresIn,
      contentType,
      nonce: upload && this.uploads.singleUse ? randomBytes(16).toString('base64url') : undefined,
    };
    const url = new URL(keyToPath(key.slice(this.root.length)), this.baseUrl);
    url.search = linkQuery(grant, this.#signingId, this.#signature(this.#signingId, grant, key));
    return url.toString();
  }

  /**
   * Checks a request against the link it carries, in one place: the link's parameters, its MAC,
   * its spelling (exactly as issued, optionally followed by `&download`), its expiry and method,
   * and the upload policy. Returns what it grants, or why it is refused. A single-use link's nonce
   * is recorded by the handler, which answers `used` for one seen before.
   */
  verify(request: LinkRequest, now = Date.now()): VerifiedLink | LinkProblem {
    const query = new URLSearchParams(request.query);
    if (!query.has(LINK_PARAMETERS.signature)) return 'unsigned';
    for (const name of Object.values(LINK_PARAMETERS)) if (query.getAll(name).length > 1) return 'malformed';
    const method = query.get(LINK_PARAMETERS.method);
    const expiresText = query.get(LINK_PARAMETERS.expires) ?? '';
    const id = query.get(LINK_PARAMETERS.keyId) ?? '';
    const signature = query.get(LINK_PARAMETERS.signature)!;
    const contentType = query.get(LINK_PARAMETERS.contentType) ?? undefined;
    const nonce = query.get(LINK_PARAMETERS.nonce) ?? undefined;
    if (method !== 'GET' && method !== 'PUT') return 'malformed';
    if (!EXPIRES.test(expiresText) || !SIGNATURE.test(signature)) return 'malformed';
    if (nonce !== undefined && (method !== 'PUT' || !NONCE.test(nonce))) return 'malformed';
    if (contentType !== undefined && (method !== 'PUT' || !/^[\x20-\x7e]{1,255}$/.test(contentType))) return 'malformed';
    if (!this.#secrets.has(id)) return 'unknown-key-id';
    if (!request.key.startsWith(this.root)) return 'bad-signature';
    const grant = { method, expires: Number(expiresText), contentType, nonce } as const;
    // A different key, method, expiry, content type or nonce gives a different MAC.
    if (!sameText(signature, this.#signature(id, grant, request.key))) return 'bad-signature';
    const canonical = linkQuery(grant, id, signature);
    const suffix = request.query.slice(canonical.length);
    if (!request.query.startsWith(canonical) || !(suffix === '' || LINK_SUFFIXES.some((name) => suffix === `&${name}`))) return 'not-canonical';
    if (request.path !== keyToPath(request.key.slice(this.root.length))) return 'not-canonical';
    if (now / 1000 > grant.expires) return 'expired';
    const requested = request.method === 'HEAD' ? 'GET' : request.method;
    if (requested !== method) return 'wrong-method';
    if (method === 'PUT' && this.uploads.singleUse && nonce === undefined) return 'not-single-use';
    if (method === 'PUT' && this.uploads.requireContentType && contentType === undefined) return 'no-content-type';
    return { method, key: request.key, expires: grant.expires, contentType, nonce };
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
