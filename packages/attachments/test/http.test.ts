/**
 * Upload helpers: multipart bodies from a Web `Request` and from a real `node:http` server's
 * `IncomingMessage` (a real client over loopback), raw bodies, and the HTTP statuses of refusals.
 * Every refused request leaves the store as it was.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, isStowageError } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { Attachments, type Attachment } from '@stowage/attachments';
import { clientError, clientMessage, errorResponse, httpStatus, uploadMultipart, uploadRequestBody } from '@stowage/attachments/http';
import { failure, keysIn, png } from './fixtures/files.ts';

const LIMIT = 256 * 1024;

function form(entries: [string, string | File][]): FormData {
  const data = new FormData();
  for (const [name, value] of entries) data.append(name, value);
  return data;
}

function post(body: FormData | Uint8Array | string, headers: Record<string, string> = {}): Request {
  return new Request('http://127.0.0.1/upload', { method: 'POST', body: body as BodyInit, headers });
}

describe('upload helpers', () => {
  let store: Store;
  let attachments: Attachments;
  beforeEach(() => {
    store = new Store(new MemoryBackend());
    attachments = new Attachments({
      stores: { files: store },
      slots: {
        avatars: { store: 'files', maxSize: LIMIT, allowedTypes: ['image/png'] },
        documents: { store: 'files', keys: 'sha256', maxSize: LIMIT, allowedTypes: ['text/*', 'application/pdf'] },
      },
    });
  });

  const slots = { files: { avatar: 'avatars', documents: 'documents' }, entity: { model: 'users', id: 42 } };

  it('streams the files of a Web Request into their slots and returns the other fields', async () => {
    const picture = png(2000);
    const request = post(form([
      ['title', 'Hello'],
      ['avatar', new File([picture], 'me.png', { type: 'image/png' })],
      ['documents', new File(['one'], 'one.txt', { type: 'text/plain' })],
      ['documents', new File(['two'], 'two.md', { type: 'application/octet-stream' })],
      ['tag', 'a'],
      ['tag', 'b'],
    ]));
    const files = attachments.begin();
    const result = await uploadMultipart(files, request, slots);
    expect(result.fields.get('title')).toBe('Hello');
    expect(result.fields.getAll('tag')).toEqual(['a', 'b']);
    const avatar = result.files.avatar![0]!;
    expect(avatar).toMatchObject({ slot: 'avatars', filename: 'me.png', contentType: 'image/png', size: 2000 });
    expect(avatar.key).toMatch(/^avatars\/users\/42\/avatar\//);
    expect(new Uint8Array(await store.readBytes(avatar.key))).toEqual(picture);
    // An unknown type from the browser is inferred from the file name.
    expect(result.files.documents!.map((document: Attachment) => [document.filename, document.contentType])).toEqual([
      ['one.txt', 'text/plain'],
      ['two.md', 'text/markdown'],
    ]);
    expect(files.uploaded).toHaveLength(3);
  });

  it('leaves content-addressed files of a refused request to the collector (other rows may share them)', async () => {
    const request = post(form([
      ['documents', new File(['fine'], 'fine.txt', { type: 'text/plain' })],
      ['avatar', new File([png(LIMIT + 1)], 'huge.png', { type: 'image/png' })],
    ]));
    const files = attachments.begin();
    expect(httpStatus(await failure(uploadMultipart(files, request, slots)))).toBe(413);
    expect(files.uploaded).toEqual([]);
    expect(await attachments.collect('documents', { live: [], gracePeriodMs: 0 })).toMatchObject({ orphaned: 1, deleted: 1 });
    expect(await keysIn(store)).toEqual([]);
  });

  it('refuses an oversized file with 413 and deletes what the same request had stored', async () => {
    const request = post(form([
      ['avatar', new File([png(100)], 'fine.png', { type: 'image/png' })],
      ['avatar', new File([png(LIMIT + 1)], 'huge.png', { type: 'image/png' })],
    ]));
    const files = attachments.begin();
    const error = await failure(uploadMultipart(files, request, slots));
    expect(isStowageError(error, 'TOO_LARGE')).toBe(true);
    expect(httpStatus(error)).toBe(413);
    expect(await keysIn(store)).toEqual([]);
    expect(files.uploaded).toEqual([]);
  });

  it('refuses a disallowed type with 415, a file in an unexpected field and a non-multipart body with 400', async () => {
    const files = attachments.begin();
    const exe = await failure(uploadMultipart(files, post(form([['avatar', new File(['MZ...'], 'setup.exe', { type: 'application/x-msdownload' })]])), slots));
    expect(httpStatus(exe)).toBe(415);
    const unexpected = await failure(uploadMultipart(files, post(form([['avatar', new File([png()], 'x.png')], ['other', new File(['y'], 'y.txt')]])), slots));
    expect(httpStatus(unexpected)).toBe(400);
    expect(String(unexpected)).toMatch(/unexpected file field "other"/);
    const json = await failure(uploadMultipart(files, post('{}', { 'content-type': 'application/json' }), slots));
    expect(isStowageError(json, 'INVALID_ARGUMENT')).toBe(true);
    expect(await keysIn(store)).toEqual([]);
  });

  it('tells the client a code and a generic message, never a key, a slot or a store', async () => {
    const files = attachments.begin();
    const refusals = [
      await failure(uploadMultipart(files, post(form([['avatar', new File(['MZ...'], 'setup.exe', { type: 'application/x-msdownload' })]])), slots)),
      await failure(uploadMultipart(files, post(form([['avatar', new File([png(LIMIT + 1)], 'huge.png', { type: 'image/png' })]])), slots)),
      await failure(uploadMultipart(files, post(form([['avatar', new File([png()], 'x.png')], ['other', new File(['y'], 'y.txt')]])), slots)),
      await failure(uploadRequestBody(files, 'avatars', post(png(), { 'content-type': 'image/png' }), { entity: { model: 'users', id: 'a/b', field: 'avatar' } })),
      new Error('connect ECONNREFUSED 10.0.0.7:5432 (table files)'),
    ];
    expect(refusals.map((error) => clientError(error))).toEqual([
      { status: 415, code: 'CONTENT_TYPE_NOT_ALLOWED', message: 'This type of file is not accepted here (accepted: image/png).' },
      { status: 413, code: 'TOO_LARGE', message: 'The upload is too large.' },
      { status: 400, code: 'INVALID_ARGUMENT', message: 'The upload is not valid.' },
      { status: 400, code: 'INVALID_ARGUMENT', message: 'The upload is not valid.' },
      { status: 500, code: 'INTERNAL', message: 'The upload failed.' },
    ]);
    // The errors themselves name what the client must not see.
    expect(refusals.map(String).join('\n')).toMatch(/avatars/);
    for (const error of refusals) expect(clientMessage(error)).not.toMatch(/avatars|users|files|other|10\.0|5432/);
    const response = errorResponse(refusals[1]);
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.json()).toEqual({ error: { code: 'TOO_LARGE', message: 'The upload is too large.' } });
  });

  it('refuses too many files and oversized fields', async () => {
    const files = attachments.begin();
    const many = await failure(uploadMultipart(files, post(form([['avatar', new File([png()], '1.png')], ['avatar', new File([png()], '2.png')], ['avatar', new File([png()], '3.png')]])), { ...slots, maxFiles: 2 }));
    expect(httpStatus(many)).toBe(413);
    const long = await failure(uploadMultipart(files, post(form([['title', 'x'.repeat(100)]])), { ...slots, maxFieldSize: 10 }));
    expect(httpStatus(long)).toBe(413);
    expect(await keysIn(store)).toEqual([]);
  });

  it('streams a raw request body, refusing a Content-Length over the limit before reading it', async () => {
    const files = attachments.begin();
    const picture = png(1000);
    const reference = await uploadRequestBody(files, 'avatars', post(picture, { 'content-type': 'image/png' }), { entity: { model: 'users', id: 1, field: 'avatar' } });
    expect(reference).toMatchObject({ size: 1000, contentType: 'image/png' });
    const tooLong = post(png(LIMIT + 10), { 'content-type': 'image/png', 'content-length': String(LIMIT + 10) });
    expect(httpStatus(await failure(uploadRequestBody(files, 'avatars', tooLong, { entity: { model: 'users', id: 2, field: 'avatar' } })))).toBe(413);
    expect(tooLong.bodyUsed).toBe(false);
    expect(await keysIn(store)).toEqual([reference.key]);
  });

  describe('from a node:http server', () => {
    let server: Server;
    let url: string;
    beforeEach(async () => {
      server = createServer((request, response) => {
        const files = attachments.begin();
        const handle = request.url === '/raw'
          ? uploadRequestBody(files, 'avatars', request, { entity: { model: 'users', id: 7, field: 'avatar' } }).then((reference) => ({ files: { avatar: [reference] } }))
          : uploadMultipart(files, request, slots);
        handle.then(
          async (result) => {
            await files.commit();
            response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(result.files));
          },
          async (error: unknown) => {
            await files.rollback();
            response.writeHead(httpStatus(error), { connection: 'close' }).end(String(error));
          },
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('stores the files of a multipart IncomingMessage', async () => {
      const picture = png(100_000);
      const response = await fetch(`${url}/form`, { method: 'POST', body: form([['avatar', new File([picture], 'me.png', { type: 'image/png' })], ['documents', new File(['%PDF-1.4 minimal'], 'a.pdf', { type: 'application/pdf' })]]) });
      expect(response.status).toBe(201);
      const stored = (await response.json()) as Record<string, Attachment[]>;
      expect(new Uint8Array(await store.readBytes(stored.avatar![0]!.key))).toEqual(picture);
      expect(stored.documents![0]).toMatchObject({ contentType: 'application/pdf', filename: 'a.pdf' });
    });

    it('answers 413 to an oversized file and stores nothing', async () => {
      const response = await fetch(`${url}/form`, { method: 'POST', body: form([['avatar', new File([png(4 * LIMIT)], 'big.png', { type: 'image/png' })]]) });
      expect(response.status).toBe(413);
      await response.text();
      expect(await keysIn(store)).toEqual([]);
    });

    it('answers 415 to a raw body whose bytes are not the declared type, and stores nothing', async () => {
      const response = await fetch(`${url}/raw`, { method: 'PUT', body: '<svg onload="alert(1)"/>', headers: { 'content-type': 'image/png' } });
      expect(response.status).toBe(415);
      await response.text();
      expect(await keysIn(store)).toEqual([]);
    });
  });
});
