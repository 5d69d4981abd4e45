/**
 * `stowage serve`: serves one store over HTTP with `@stowage/http`: `GET` and `HEAD` with ranges,
 * ETags and conditional requests, read-only by default, through links signed with the secret of
 * `stowage sign` (or to anyone with `--public`), and, with `--uploads`, uploads through signed `PUT`
 * links. It runs until Ctrl-C or SIGTERM, which stop it cleanly: the listener is closed, every
 * connection is ended (an upload in progress is aborted and stores nothing), the store is closed, and
 * the command exits with status 0.
 *
 * @module
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, PermissionDeniedError, StowageError, UnavailableError, type Store } from '@stowage/core';
import { expectPositionals, flag, stringOption, type Command, type Context, type ParsedArgs } from '../command.ts';
import { atLocation, usageError } from '../failures.ts';
import { formatBytes, parseByteSize, parseDuration } from '../format.ts';
import { LINK_SECRET_VARIABLE, linkSigner } from '../links.ts';
import { displayLocation, folderPrefix } from '../locations.ts';
import { openStoreOf } from '../objects.ts';

/** The address `serve` listens on unless told otherwise: this machine only. */
export const DEFAULT_SERVE_HOST = '127.0.0.1';

/** The port `serve` listens on unless told otherwise. */
export const DEFAULT_SERVE_PORT = 8080;

/** The upload size limit of `serve --uploads` unless told otherwise (100 MiB). */
export const DEFAULT_MAX_UPLOAD_SIZE = 100 * 1024 * 1024;

/**
 * The time limits and caps of `serve` unless told otherwise: those of `@stowage/http` for a public
 * server (slow or stalled clients are cut, connections and uploads capped).
 */
export const DEFAULT_SERVE_LIMITS: {
  readonly headersTimeout: 20;
  readonly requestTimeout: 600;
  readonly idleTimeout: 60;
  readonly uploadIdleTimeout: 30;
  readonly maxConnections: 256;
  readonly maxUploads: 64;
} = Object.freeze({ headersTimeout: 20, requestTimeout: 600, idleTimeout: 60, uploadIdleTimeout: 30, maxConnections: 256, maxUploads: 64 });

/** A duration option in whole seconds (at least 1), or its default. */
function secondsOption(args: ParsedArgs, name: string, fallback: number): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds < 1) throw usageError(`--${name} takes seconds or a duration such as 30s, 5m or 1h, not ${JSON.stringify(text)}`);
  return seconds;
}

/** A count option (a positive whole number), or its default. */
function countOption(args: ParsedArgs, name: string, fallback: number): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw usageError(`--${name} takes a positive whole number, not ${JSON.stringify(text)}`);
  return Number(text);
}

function portOption(args: ParsedArgs): number {
  const text = stringOption(args, 'port');
  if (text === undefined) return DEFAULT_SERVE_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw usageError(`--port takes a port number from 0 to 65535 (0 picks a free one), not ${JSON.stringify(text)}`);
  return port;
}

/** A mount path: `/`, or `/files/` (segments without dots, queries or fragments). */
function normalizeBasePath(text: string, source: string): string {
  let path = text.startsWith('/') ? text : `/${text}`;
  if (!path.endsWith('/')) path += '/';
  if (/[?#\\]/.test(path) || path.split('/').some((segment) => segment === '.' || segment === '..') || path.includes('//')) {
    throw usageError(`${source} must be a path such as /files/, not ${JSON.stringify(text)}`);
  }
  return path;
}

function corsOrigins(args: ParsedArgs): '*' | string[] | undefined {
  const value = args.values.cors;
  const origins = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  if (origins.length === 0) return undefined;
  if (origins.includes('*')) return '*';
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin) throw usageError(`--cors takes an origin such as https://app.example.com (scheme, host and port, no path) or *, not ${JSON.stringify(origin)}`);
  }
  return origins;
}

/** The host as it goes into a URL: IPv6 addresses in brackets. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Starts listening; errors as stowage errors that say what to change. */
function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      server.off('listening', listening);
      const where = `${urlHost(host)}:${port}`;
      if (error.code === 'EADDRINUSE') reject(new UnavailableError(`${where} is in use: pick another port with --port (0 picks a free one)`, { cause: error }));
      else if (error.code === 'EACCES') reject(new PermissionDeniedError(`listening on ${where} is not permitted (ports below 1024 need privileges): pick another with --port`, { cause: error }));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') reject(new InvalidArgumentError(`--host ${host} is not an address of this machine`, { cause: error }));
      else reject(new StowageError('UNAVAILABLE', `cannot listen on ${where}: ${error.code ?? error.message}`, { cause: error }));
    };
    const listening = () => {
      server.off('error', failed);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', failed);
    server.once('listening', listening);
    server.listen({ host, port, exclusive: true });
  });
}

/** Resolves when the run's signal fires (Ctrl-C, SIGTERM); rejects when the server fails. */
function stopped(context: Context, server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (context.signal.aborted) return resolve();
    context.signal.addEventListener('abort', () => resolve(), { once: true });
    server.once('error', (error) => reject(new StowageError('UNAVAILABLE', `the server failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error })));
  });
}

/** Stops listening and ends every connection (responses in progress are cut, uploads in progress abort). */
function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** `stowage serve`. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve a store over HTTP: downloads with ranges and ETags through signed links, optional signed uploads.',
  usage: ['serve [options] [STORE]'],
  description: [
    'Serves the whole STORE (a configured store NAME:, a store URL such as sqlite:./store.db, or : for the default store, which is also what no STORE means) over HTTP on --host and --port, below --base-path, and prints the URL it listens on. Objects are served with Content-Type, Content-Length, ETag and Last-Modified; Range requests get 206, If-None-Match and If-Modified-Since 304. Keys in the URL follow the store\'s key rules.',
    `Read-only by default, and every request needs a link signed with the link secret (${LINK_SECRET_VARIABLE}, several separated by commas for rotation, or links.secrets in the configuration): stowage sign --base-url URL hands such links out. With --public anyone may read. With --uploads, PUT through links signed for PUT (stowage sign --method PUT) stores the body, up to --max-upload-size. With --nonce-store, upload links must be single-use (stowage sign --single-use): each nonce is recorded there when its upload starts, and the link gets 403 ever after (an upload that fails releases it); with --require-content-type, they must name a content type.`,
    'Slow clients are cut, as a server facing the public needs: request headers must arrive within --headers-timeout, a whole request within --request-timeout, a connection that moves no bytes for --idle-timeout is closed, and an upload whose body sends nothing for --upload-idle-timeout gets 408 and stores nothing. At most --max-connections connections and --max-uploads uploads run at once (more connections are closed, more uploads get 503).',
    'Ctrl-C (or SIGTERM) stops the server: it stops listening, ends every connection (an upload in progress stores nothing), closes the store and exits with status 0.',
  ],
  runsUntilStopped: true,
  options: {
    host: { type: 'string', value: 'HOST', description: `the address to listen on (default ${DEFAULT_SERVE_HOST}: this machine only; 0.0.0.0 for every interface)` },
    port: { type: 'string', value: 'PORT', description: `the port (default ${DEFAULT_SERVE_PORT}; 0 picks a free one)` },
    'base-path': { type: 'string', value: 'PATH', description: "the path the store is served below (default /, or the path of the store's base URL: links.baseUrl, $STOWAGE_LINK_BASE_URL)" },
    public: { type: 'boolean', description: 'anyone may read every object: no signed link needed (signed links still work)' },
    uploads: { type: 'boolean', description: 'accept uploads (PUT) through links signed for PUT' },
    'max-upload-size': { type: 'string', value: 'SIZE', description: `with --uploads: the largest body accepted (default ${formatBytes(DEFAULT_MAX_UPLOAD_SIZE)}); 413 above it, nothing stored` },
    cors: { type: 'string', multiple: true, value: 'ORIGIN', description: 'let web pages of this origin read (and upload) from a browser; * for any (repeatable)' },
    'headers-timeout': { type: 'string', value: 'DURATION', description: `the longest a client may take to send its request headers (default ${DEFAULT_SERVE_LIMITS.headersTimeout}s); 408 after it` },
    'request-timeout': { type: 'string', value: 'DURATION', description: `the longest a whole request may take to arrive, an upload's body included (default ${DEFAULT_SERVE_LIMITS.requestTimeout / 60}m); 408 after it, nothing stored` },
    'idle-timeout': { type: 'string', value: 'DURATION', description: `a connection that moves no bytes either way for this long is closed (default ${DEFAULT_SERVE_LIMITS.idleTimeout}s)` },
    'upload-idle-timeout': { type: 'string', value: 'DURATION', description: `with --uploads: an upload whose body sends nothing for this long gets 408 and stores nothing (default ${DEFAULT_SERVE_LIMITS.uploadIdleTimeout}s)` },
    'max-connections': { type: 'string', value: 'COUNT', description: `the most connections at once (default ${DEFAULT_SERVE_LIMITS.maxConnections}); more are closed as they arrive` },
    'max-uploads': { type: 'string', value: 'COUNT', description: `with --uploads: the most uploads at once (default ${DEFAULT_SERVE_LIMITS.maxUploads}); more get 503 with Retry-After` },
    'nonce-store': { type: 'string', value: 'LOCATION', description: 'with --uploads: upload links are single-use (stowage sign --single-use); their nonces are recorded in this store or folder (any backend; shared by servers that verify the same links), outside the served store' },
    'require-content-type': { type: 'boolean', description: 'with --uploads: refuse upload links that do not name a content type (stowage sign --content-type)' },
  },
  examples: [
    ['serve sqlite:./store.db', 'serve a SQLite store on http://127.0.0.1:8080/ through signed links (with $STOWAGE_LINK_SECRET set)'],
    ['sign --base-url http://127.0.0.1:8080/ sqlite:./store.db/reports/q3.pdf', 'a link to one of its objects, for plain curl or a browser'],
    ['serve --public --port 0 :', 'serve the default store to anyone, on a free port'],
    ['serve --uploads --max-upload-size 20MiB --cors https://app.example.com files:', 'accept uploads through signed PUT links from a web app'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 0, 1, 'at most one STORE');
    const text = args.positionals[0] ?? ':';
    const location = context.session.parse(text);
    if (location.kind !== 'store') throw usageError('serve serves a store: give a store location such as :, NAME: or sqlite:./store.db', text);
    if (location.key !== '') {
      const folder = folderPrefix(location.key).slice(0, -1);
      // A file: location can name the folder as a store of its own: file:DIR//.
      const instead =
        location.store.kind === 'url' && location.store.scheme === 'file'
          ? `serve ${location.prefix === 'file:' ? `file:./${folder}` : `${location.prefix.slice(0, -2)}/${folder}`}// (the store rooted at that folder)`
          : `configure a store with root: ${folder}/ and serve that`;
      throw usageError(`serve serves a whole store, not a folder of it: ${instead}, so that the links of stowage sign match`, text);
    }
    const host = stringOption(args, 'host') ?? DEFAULT_SERVE_HOST;
    if (host === '') throw usageError('--host cannot be empty');
    const port = portOption(args);
    const open = flag(args, 'public');
    const uploads = flag(args, 'uploads');
    const maxText = stringOption(args, 'max-upload-size');
    if (maxText !== undefined && !uploads) throw usageError('--max-upload-size applies to --uploads');
    const maxUploadSize = maxText === undefined ? DEFAULT_MAX_UPLOAD_SIZE : parseByteSize(maxText);
    if (maxUploadSize === undefined) throw usageError(`--max-upload-size takes a size such as 1048576, 512KiB or 20MiB, not ${JSON.stringify(maxText)}`);
    const origins = corsOrigins(args);
    for (const name of ['upload-idle-timeout', 'max-uploads', 'nonce-store']) if (stringOption(args, name) !== undefined && !uploads) throw usageError(`--${name} applies to --uploads`);
    const requireContentType = flag(args, 'require-content-type');
    if (requireContentType && !uploads) throw usageError('--require-content-type applies to --uploads');
    const nonceText = stringOption(args, 'nonce-store');
    const nonceLocation = nonceText === undefined ? undefined : context.session.parse(nonceText);
    if (nonceLocation !== undefined && nonceLocation.kind !== 'store') throw usageError('--nonce-store takes a store location such as sqlite:./nonces.db or a folder of one', nonceText);
    const headersTimeout = secondsOption(args, 'headers-timeout', DEFAULT_SERVE_LIMITS.headersTimeout);
    const requestTimeout = secondsOption(args, 'request-timeout', DEFAULT_SERVE_LIMITS.requestTimeout);
    if (headersTimeout > requestTimeout) throw usageError(`--headers-timeout (${headersTimeout}s) cannot be longer than --request-timeout (${requestTimeout}s)`);
    const idleTimeout = secondsOption(args, 'idle-timeout', DEFAULT_SERVE_LIMITS.idleTimeout);
    const uploadIdleTimeout = secondsOption(args, 'upload-idle-timeout', DEFAULT_SERVE_LIMITS.uploadIdleTimeout);
    const maxConnections = countOption(args, 'max-connections', DEFAULT_SERVE_LIMITS.maxConnections);
    const maxUploads = countOption(args, 'max-uploads', DEFAULT_SERVE_LIMITS.maxUploads);
    const secrets = context.session.linkSecrets();
    if (secrets === undefined && uploads) throw usageError(`--uploads needs a link secret (uploads go only through signed PUT links): set ${LINK_SECRET_VARIABLE} (at least 32 characters) or links.secrets in the configuration`);
    if (secrets === undefined && !open) {
      throw usageError(`serve needs a link secret to verify signed links: set ${LINK_SECRET_VARIABLE} (at least 32 characters; openssl rand -base64 32) or links.secrets in the configuration, or serve to anyone with --public`);
    }
    const configuredUrl = context.session.linkBaseUrl(location.store);
    const basePathOption = stringOption(args, 'base-path');
    const basePath = normalizeBasePath(basePathOption ?? (configuredUrl === undefined ? '/' : new URL(configuredUrl).pathname), basePathOption === undefined ? 'the path of links.baseUrl' : '--base-path');

    const display = displayLocation(location);
    const store = await openStoreOf(context, location, { write: true });
    let nonceStore: Store | undefined;
    if (nonceLocation !== undefined) {
      const opened = await openStoreOf(context, nonceLocation, { write: true });
      nonceStore = nonceLocation.key === '' ? opened : opened.at(folderPrefix(nonceLocation.key));
    }
    const [{ createHandler }, { createNodeServer }] = await Promise.all([import('@stowage/http'), import('@stowage/http/node')]);
    let handler: ((request: Request) => Promise<Response>) | undefined;
    // The handler needs the port (for the signer's base URL), which is known once listening: a
    // request that comes before it is ready is told to come back.
    const server = createNodeServer((request) => handler?.(request) ?? Promise.resolve(new Response('Service Unavailable\n', { status: 503, headers: { 'retry-after': '1' } })), {
      headersTimeoutMs: headersTimeout * 1000,
      requestTimeoutMs: requestTimeout * 1000,
      idleTimeoutMs: idleTimeout * 1000,
      maxConnections,
    });
    let address: AddressInfo;
    try {
      address = await listen(server, host, port);
    } catch (error) {
      throw atLocation(error, display);
    }
    try {
      const origin = `http://${urlHost(host)}:${address.port}`;
      const signer = secrets === undefined ? undefined : await linkSigner(secrets, configuredUrl ?? `${origin}${basePath}`, store.root, { singleUse: nonceStore !== undefined, requireContentType });
      handler = createHandler(store, {
        signer,
        access: open ? 'public' : 'signed',
        basePath,
        uploads: uploads ? { maxSize: maxUploadSize, idleTimeoutMs: uploadIdleTimeout * 1000, timeoutMs: requestTimeout * 1000, maxConcurrent: maxUploads, nonceStore } : undefined,
        cors: origins === undefined ? undefined : { origins },
        onError: context.verbose
          ? ({ request, status, reason, error }) => {
              // The path only: the query of a link holds its signature.
              const detail = status >= 500 && error instanceof Error ? `: ${error.message}` : '';
              context.io.stderr.write(`${context.session.mask(`stowage serve: ${status} ${request.method} ${new URL(request.url).pathname}: ${reason}${detail}`)}\n`);
            }
          : undefined,
      });
      const access = open ? 'public: anyone may read' : 'signed links only';
      const writes = uploads ? `uploads through ${nonceStore ? 'single-use ' : ''}signed PUT links up to ${formatBytes(maxUploadSize)}` : 'read-only';
      context.print(`serving ${display} at ${origin}${basePath} (${access}; ${writes})`);
      context.note('press Ctrl-C to stop');
      await stopped(context, server);
    } finally {
      await close(server);
    }
    context.note('stopped');
    return 0;
  },
};
