/**
 * A real HTTP server on 127.0.0.1 for the tests: the handler behind `toNodeListener`, on a free port.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '@stowage/http/node';
import type { FetchHandler } from '@stowage/http';

/** A listening server and how to stop it. */
export interface TestHttpServer {
  readonly origin: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serves `handler` on a free loopback port. `handler` may be set later (the signer needs the port first). */
export async function serve(handler?: FetchHandler): Promise<TestHttpServer & { use(handler: FetchHandler): void }> {
  let current = handler;
  const listener = toNodeListener((request) => current!(request));
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    server,
    use: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request with the target exactly as given (fetch and URL would normalize `..`, `%2e` and `\`). */
export function rawGet(origin: string, target: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: hostname, port, path: target, method: 'GET' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.once('error', reject);
    request.end();
  });
}
