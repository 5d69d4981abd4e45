/**
 * `@stowage/http/node`: the Fetch handler as a Node `http` request listener, for `http.createServer`,
 * Express (`app.use(listener)`) and Fastify (`reply.hijack()`, then the listener on the raw objects).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { byobReader } from '@stowage/core';
import type { FetchHandler } from './handler.ts';
import { rawPathProblem } from './url-keys.ts';

/** A Node request listener: `(req, res) => void`. */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The limits of a Node server facing the public, where a client may be slow on purpose: each one
 * holds a connection (and during an upload a temporary file) for as long as it is let.
 */
export interface NodeServerLimits {
  /** How long a client may take to send the request headers (default 20 s; Node's own: 60 s). 408, and the connection closed. */
  headersTimeoutMs?: number | undefined;
  /**
   * How long a client may take to send a whole request, body included (default 10 min; Node's
   * own: 5 min). Keep it at least the handler's `uploads.timeoutMs`, which cuts uploads itself.
   */
  requestTimeoutMs?: number | undefined;
  /**
   * A connection that moves no bytes either way for this long is closed (default 60 s; Node's
   * own: never): a client that stops reading a response, or keeps a connection open and silent.
   * Longer than the handler's `uploads.idleTimeoutMs`, which answers a stalled upload with 408
   * first, and than the slowest store operation that sends nothing meanwhile.
   */
  idleTimeoutMs?: number | undefined;
  /** How long an idle keep-alive connection stays open for the next request (default 5 s, Node's own). */
  keepAliveTimeoutMs?: number | undefined;
  /** The most connections at once (default 256; Node's own: no limit); more are closed as they arrive. */
  maxConnections?: number | undefined;
}

/** The defaults of {@link NodeServerLimits}. */
export const NODE_SERVER_DEFAULTS: {
  readonly headersTimeoutMs: 20_000;
  readonly requestTimeoutMs: 600_000;
  readonly idleTimeoutMs: 60_000;
  readonly keepAliveTimeoutMs: 5_000;
  readonly maxConnections: 256;
} = Object.freeze({ headersTimeoutMs: 20_000, requestTimeoutMs: 600_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 256 });

function limit(limits: NodeServerLimits, name: keyof NodeServerLimits): number {
  const value = limits[name] ?? NODE_SERVER_DEFAULTS[name];
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/**
 * A Node `http` server for a Fetch handler, with the limits a public server needs
 * ({@link NodeServerLimits}): slow headers, slow or stalled bodies, idle connections and too many
 * connections are cut. Node checks the header and request time limits every second. Listen on it
 * as on any server.
 *
 * @example
 * ```ts
 * import { createNodeServer } from '@stowage/http/node'
 *
 * createNodeServer(handler, { maxConnections: 1000 }).listen(3000, '127.0.0.1')
 * ```
 */
export function createNodeServer(handler: FetchHandler, limits: NodeServerLimits = {}): Server {
  const headersTimeout = limit(limits, 'headersTimeoutMs');
  const requestTimeout = limit(limits, 'requestTimeoutMs');
  if (headersTimeout > requestTimeout) throw new TypeError(`headersTimeoutMs (${headersTimeout}) must not exceed requestTimeoutMs (${requestTimeout})`);
  const server = createServer(
    { headersTimeout, requestTimeout, keepAliveTimeout: limit(limits, 'keepAliveTimeoutMs'), connectionsCheckingInterval: 1000 },
    toNodeListener(handler),
  );
  server.setTimeout(limit(limits, 'idleTimeoutMs'));
  server.maxConnections = limit(limits, 'maxConnections');
  return server;
}

/**
 * Adapts a Fetch handler to Node's `http`. The request body streams in and the response body
 * streams out with backpressure; when the client goes away, the handler's request signal fires and
 * the response stream is cancelled, so the backend read stops. Request targets with backslashes or
 * dot segments (literal or `%2e`) are refused with 400 before URL parsing could resolve them.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { toNodeListener } from '@stowage/http/node'
 *
 * createServer(toNodeListener(handler)).listen(3000, '127.0.0.1')
 * ```
 */
export function toNodeListener(handler: FetchHandler): NodeListener {
  return (request, response) => {
    void serve(handler, request, response);
  };
}

/**
 * The request body as a Web stream, with backpressure. Not `Readable.toWeb`: when its stream is
 * cancelled early (an upload refused as too large) while data still arrives, it throws an uncaught
 * error that would take the whole server down. Here a cancelled body discards the rest.
 */
function requestBody(request: IncomingMessage): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        request.on('data', (chunk: Buffer) => {
          if (cancelled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) request.pause();
        });
        request.once('end', () => {
          if (!cancelled) controller.close();
        });
        request.once('error', (error) => {
          if (!cancelled) controller.error(error);
        });
        request.once('close', () => {
          if (!cancelled && !request.complete) controller.error(new Error('the client closed the connection before the body ended'));
        });
        request.pause();
      },
      pull() {
        request.resume();
      },
      cancel() {
        cancelled = true;
        request.resume();
      },
    },
    new CountQueuingStrategy({ highWaterMark: 4 }),
  );
}

async function serve(handler: FetchHandler, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  // Express keeps the full path in originalUrl when a router strips its mount path from url.
  const target = (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '/';
  if (rawPathProblem(target) !== undefined) {
    response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Bad Request\n');
    request.resume();
    return;
  }
  const headers = new Headers();
  for (let index = 0; index < request.rawHeaders.length; index += 2) headers.append(request.rawHeaders[index]!, request.rawHeaders[index + 1]!);
  const method = request.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
  const host = request.headers.host ?? 'localhost';
  let fetchRequest: Request;
  try {
    fetchRequest = new Request(new URL(target, `http://${host}`), {
      method,
      headers,
      body: hasBody ? requestBody(request) : null,
      signal: controller.signal,
      // Node's fetch needs this for a streamed request body.
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch {
    response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Bad Request\n');
    return;
  }
  let fetchResponse: Response;
  try {
    fetchResponse = await handler(fetchRequest);
  } catch {
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal Server Error\n');
    return;
  }
  const outgoing: Record<string, string | string[]> = {};
  fetchResponse.headers.forEach((value, name) => {
    outgoing[name] = value;
  });
  // A body the handler did not read to the end (a refused or oversized upload): drop the connection
  // after the response rather than wait for the rest.
  if (hasBody && !request.complete) outgoing.connection = 'close';
  response.writeHead(fetchResponse.status, outgoing);
  if (!fetchResponse.body || method === 'HEAD') {
    await fetchResponse.body?.cancel();
    response.end();
    return;
  }
  // A byte stream (a local-folder store's body) is read into our own buffers.
  const reader = byobReader(fetchResponse.body);
  if (reader) {
    await sendBytes(reader, response);
    return;
  }
  try {
    await pipeline(Readable.fromWeb(fetchResponse.body as import('node:stream/web').ReadableStream<Uint8Array>), response);
  } catch {
    // The client went away or the backend failed mid-body: the pipeline has destroyed both ends, and
    // the destroyed socket tells the client the body is incomplete.
  }
}

/** Bytes read per buffer when the body is a byte stream; two buffers take turns. */
const SEND_BUFFER_BYTES = 256 * 1024;

/** Writes `chunk` to the response; resolves once it has been handed to the socket, so its buffer can be reused. */
function write(response: ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    response.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Sends a byte-stream body through two buffers that take turns: the next read fills one while the
 * other is being written, and a buffer is read into again only once the socket is done with it.
 * Serving a whole object then allocates nothing per chunk, so memory stays flat whatever its size.
 * A backend failure or a client that goes away destroys the socket (the client sees a short body)
 * and cancels the read.
 */
async function sendBytes(reader: ReadableStreamBYOBReader, response: ServerResponse): Promise<void> {
  let gone = false;
  let closed!: () => void;
  const whenClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const onClose = (): void => {
    if (response.writableFinished) return;
    gone = true;
    closed();
    reader.cancel(new Error('the client closed the connection')).catch(() => {});
  };
  response.once('close', onClose);
  // A write's callback may not come once the socket has died: every wait also ends at 'close'.
  const settled = (sent: Promise<void>): Promise<void> => Promise.race([sent, whenClosed]);
  let free: ArrayBuffer = new ArrayBuffer(SEND_BUFFER_BYTES);
  let spare: ArrayBuffer | undefined = new ArrayBuffer(SEND_BUFFER_BYTES);
  let previous: { sent: Promise<void>; buffer: ArrayBuffer } | undefined;
  try {
    while (!gone) {
      const next = await reader.read(new Uint8Array(free));
      if (next.done) break;
      const sent = write(response, next.value);
      sent.catch(() => {});
      if (previous) {
        await settled(previous.sent);
        free = previous.buffer;
      } else {
        free = spare!;
        spare = undefined;
      }
      previous = { sent, buffer: next.value.buffer as ArrayBuffer };
    }
    if (previous) await settled(previous.sent);
    if (!gone) response.end();
  } catch (error) {
    reader.cancel(error).catch(() => {});
    response.destroy();
  } finally {
    response.off('close', onClose);
  }
}
