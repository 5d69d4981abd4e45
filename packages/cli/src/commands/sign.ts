/**
 * `stowage sign`: prints a signed URL that grants time-limited access to one object: the backend's
 * own where it signs (S3, Google Cloud Storage, Azure Blob Storage), else an HMAC link to the server
 * of `stowage serve` when a link secret and a base URL are configured.
 *
 * @module
 */
import { CapabilityNotSupportedError, type Store } from '@stowage/core';
import { expectPositionals, flag, stringOption, type Command, type Context } from '../command.ts';
import { atLocation, usageError } from '../failures.ts';
import { parseDuration } from '../format.ts';
import { LINK_BASE_URL_VARIABLE, LINK_SECRET_VARIABLE, linkSigner } from '../links.ts';
import { displayLocation, isFolderKey, type StoreLocation } from '../locations.ts';
import { openStoreOf } from '../objects.ts';

/**
 * The store that signs for `location`: the store itself where its backend signs, else the store
 * with the HMAC signer of `stowage serve`; a CAPABILITY_NOT_SUPPORTED error that says what is
 * missing when neither is possible.
 */
async function signingStore(context: Context, location: StoreLocation, store: Store, baseUrlOption: string | undefined, singleUse: boolean): Promise<Store> {
  if (store.capabilities.signedUrl) {
    if (singleUse) throw usageError(`--single-use makes links that stowage serve verifies; ${store.backendName} signs its own URLs, which cannot be made single-use`);
    if (baseUrlOption !== undefined) context.note(`note: ${store.backendName} signs its own URLs: --base-url is not used`);
    return store;
  }
  const secrets = context.session.linkSecrets();
  const baseUrl = context.session.linkBaseUrl(location.store, baseUrlOption);
  if (secrets !== undefined && baseUrl !== undefined) return store.withSigner(await linkSigner(secrets, baseUrl, store.root, { singleUse }));
  const giveBaseUrl = `give --base-url (the URL where stowage serve serves this store; or ${LINK_BASE_URL_VARIABLE}, or links in the configuration)`;
  const missing =
    secrets === undefined && baseUrl === undefined
      ? `set ${LINK_SECRET_VARIABLE} (at least 32 characters) and ${giveBaseUrl}`
      : secrets === undefined
        ? `set ${LINK_SECRET_VARIABLE} (at least 32 characters, the secret stowage serve verifies with)`
        : giveBaseUrl;
  throw new CapabilityNotSupportedError(
    'signedUrl',
    `the '${store.backendName}' backend cannot sign URLs itself; for a link that stowage serve verifies, ${missing}`,
    { key: location.key, backend: store.backendName },
  );
}

/** The longest a signed link may live (a week, what S3 allows and the library enforces for every store). */
const MAX_EXPIRES = 604800;

/** `stowage sign`. */
export const signCommand: Command = {
  name: 'sign',
  summary: 'Print a signed URL that grants time-limited access to an object, without credentials.',
  usage: ['sign [options] LOCATION'],
  description: [
    "The store signs natively where its backend can (S3, Google Cloud Storage, Azure Blob Storage). For a store whose backend cannot sign (SQLite, PostgreSQL, MySQL, local folders, memory), the link is an HMAC link that stowage serve verifies: it needs the secret stowage serve runs with ($STOWAGE_LINK_SECRET, or links.secrets in the configuration) and the URL where that server serves the store (--base-url, the store's links.baseUrl in the configuration, or $STOWAGE_LINK_BASE_URL). Without them it fails with CAPABILITY_NOT_SUPPORTED (exit status 6) and says what is missing.",
    'The URL is printed as it is: it is the one line of output that is meant to carry a credential.',
  ],
  options: {
    expires: { type: 'string', value: 'DURATION', description: 'how long the URL is valid: seconds, or 15m, 12h, 7d (default 15m, at most 7d)' },
    method: { type: 'string', value: 'GET|PUT', description: 'GET to download (default), PUT to upload' },
    'content-type': { type: 'string', value: 'TYPE', description: 'for PUT: the content type the uploader must send' },
    'base-url': { type: 'string', value: 'URL', description: 'for stores that stowage serve serves: where that server serves the store (default: links.baseUrl, $STOWAGE_LINK_BASE_URL)' },
    'single-use': { type: 'boolean', description: 'with --method PUT, for stowage serve --nonce-store: the link uploads once; used again it gets 403' },
  },
  examples: [
    ['sign s3://bucket/reports/q3.pdf', 'a download link valid for 15 minutes'],
    ['sign --method PUT --expires 1h --content-type image/png lake:uploads/avatar.png', 'an upload link'],
    ['sign --base-url http://127.0.0.1:8080/ sqlite:./store.db/reports/q3.pdf', 'a link to a SQLite store that stowage serve serves (with $STOWAGE_LINK_SECRET set)'],
    ['sign --method PUT --single-use --content-type image/png --base-url http://127.0.0.1:8080/ sqlite:./store.db/up/1.png', 'an upload link that works once (stowage serve --uploads --nonce-store ...)'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 1, 1, 'one LOCATION');
    const text = args.positionals[0]!;
    const location = context.session.parse(text);
    if (location.kind !== 'store') throw usageError('sign needs an object in a store', text);
    if (isFolderKey(location.key)) throw usageError('sign needs the key of one object', text);
    const expires = stringOption(args, 'expires');
    const expiresIn = expires === undefined ? undefined : parseDuration(expires);
    if (expires !== undefined && expiresIn === undefined) throw usageError(`--expires takes seconds or a duration such as 15m, 12h or 7d, not ${JSON.stringify(expires)}`);
    if (expiresIn !== undefined && (expiresIn < 1 || expiresIn > MAX_EXPIRES)) throw usageError(`--expires is ${expiresIn < 1 ? 'at least 1 second' : `at most 7d (${MAX_EXPIRES} seconds)`}, not ${expires!}`);
    const method = stringOption(args, 'method')?.toUpperCase();
    if (method !== undefined && method !== 'GET' && method !== 'PUT') throw usageError(`--method is GET or PUT, not ${JSON.stringify(method)}`);
    const singleUse = flag(args, 'single-use');
    if (singleUse && method !== 'PUT') throw usageError('--single-use applies to upload links: add --method PUT');
    const store = await openStoreOf(context, location, { write: false });
    let url: string;
    try {
      const signing = await signingStore(context, location, store, stringOption(args, 'base-url'), singleUse);
      url = await signing.signUrl(location.key, { expiresIn, method, contentType: stringOption(args, 'content-type') });
    } catch (error) {
      throw atLocation(error, displayLocation(location));
    }
    context.io.stdout.write(`${url}\n`);
    return 0;
  },
};
