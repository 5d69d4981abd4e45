/**
 * Error mapping and scrubbing without a server: the stowage code for each Azure error and status,
 * conditions that change what a status means, and credentials removed from messages, stacks,
 * details, requests and responses.
 */
import { RestError, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { codeOf, mapAzureError, scrub, scrubError } from '../src/azure-errors.ts';

function restError(statusCode: number | undefined, code: string | undefined, message = 'failed'): RestError {
  return new RestError(message, { statusCode, code });
}

describe('codeOf', () => {
  it('maps Azure error codes and statuses onto stowage codes', () => {
    const cases: [RestError | Error, string][] = [
      [restError(404, 'BlobNotFound'), 'NOT_FOUND'],
      [restError(404, 'ContainerNotFound'), 'NOT_FOUND'],
      [restError(409, 'BlobAlreadyExists'), 'ALREADY_EXISTS'],
      [restError(412, 'ConditionNotMet'), 'PRECONDITION_FAILED'],
      [restError(409, 'LeaseIdMissing'), 'PRECONDITION_FAILED'],
      [restError(416, 'InvalidRange'), 'RANGE_NOT_SATISFIABLE'],
      [restError(403, 'AuthenticationFailed'), 'PERMISSION_DENIED'],
      [restError(403, 'AuthorizationPermissionMismatch'), 'PERMISSION_DENIED'],
      [restError(401, undefined), 'PERMISSION_DENIED'],
      [restError(503, 'ServerBusy'), 'UNAVAILABLE'],
      [restError(500, 'OperationTimedOut'), 'UNAVAILABLE'],
      [restError(500, 'InternalError'), 'UNAVAILABLE'],
      [restError(429, undefined), 'UNAVAILABLE'],
      [restError(409, 'ContainerBeingDeleted'), 'UNAVAILABLE'],
      [restError(413, 'RequestBodyTooLarge'), 'TOO_LARGE'],
      [restError(400, 'BlockCountExceedsLimit'), 'TOO_LARGE'],
      [restError(400, 'InvalidMetadata'), 'INVALID_ARGUMENT'],
      [restError(undefined, 'ECONNRESET'), 'UNAVAILABLE'],
      [restError(undefined, 'ETIMEDOUT'), 'UNAVAILABLE'],
      [restError(undefined, RestError.REQUEST_SEND_ERROR), 'UNAVAILABLE'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'UNAVAILABLE'],
      [Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }), 'ABORTED'],
    ];
    for (const [error, code] of cases) expect(codeOf(error), `${(error as RestError).statusCode} ${(error as RestError).code}`).toBe(code);
  });

  it('maps an exhausted quota and 507 onto STORAGE_FULL, not retryable, saying what is full', () => {
    for (const native of [restError(403, 'StorageAccountQuotaExceeded'), restError(409, 'StorageContainerQuotaExceeded'), restError(507, undefined)]) {
      expect(codeOf(native), `${native.statusCode} ${native.code}`).toBe('STORAGE_FULL');
      const error = mapAzureError(native, { backend: 'azure', doing: 'write', key: 'a.bin', secrets: [] });
      expect(error).toMatchObject({ code: 'STORAGE_FULL', retryable: false, key: 'a.bin' });
      expect(error.message).toMatch(/quota is used up, or the server is out of space: free space or raise the quota/);
    }
    // A throttled account is transient, not full.
    expect(codeOf(restError(503, 'ServerBusy'))).toBe('UNAVAILABLE');
  });

  it('reads the code of HEAD responses from details, where the SDK puts it', () => {
    const error = restError(404, undefined);
    error.details = { errorCode: 'BlobNotFound' };
    expect(codeOf(error)).toBe('NOT_FOUND');
  });

  it('lets the request conditions decide what 409, 412 and 404 mean', () => {
    expect(codeOf(restError(409, 'BlobAlreadyExists'), { ifNoneMatch: '*' })).toBe('ALREADY_EXISTS');
    expect(codeOf(restError(412, 'ConditionNotMet'), { ifNoneMatch: '*' })).toBe('ALREADY_EXISTS');
    expect(codeOf(restError(404, 'BlobNotFound'), { ifMatch: '"0x1"' })).toBe('PRECONDITION_FAILED');
    expect(codeOf(restError(404, 'ContainerNotFound'), { ifMatch: '"0x1"' })).toBe('NOT_FOUND');
    expect(codeOf(restError(409, 'ContainerBeingDeleted'), { ifNoneMatch: '*' })).toBe('UNAVAILABLE');
  });
});

describe('scrubbing', () => {
  const key = 'S3cr3tAccountKeyValue0123456789abcdef==';
  const sig = 'abcDEF%2Bghi%3D';

  it('removes SAS signatures, Shared Key signatures, bearer tokens, account keys and given secrets from text', () => {
    const text = [
      `https://a.blob.core.windows.net/c/b?sv=2024&sp=r&sig=${sig}&se=x`,
      `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${key};EndpointSuffix=core.windows.net`,
      'BlobEndpoint=https://a;SharedAccessSignature=sv=1&sig=zzz',
      'Authorization: SharedKey a:c2lnbmF0dXJlc2lnbmF0dXJl=',
      'Authorization: Bearer eyJhbGciOi.payload.signature',
      "The MAC signature found in the HTTP request 'c2lnbmF0dXJl' is not the same as any computed signature. Server used following string to sign: 'PUT\n\n'.",
      `raw ${key}`,
    ].join('\n');
    const scrubbed = scrub(text, [key]);
    for (const secret of [key, sig, 'zzz', 'c2lnbmF0dXJlc2lnbmF0dXJl', 'eyJhbGciOi', "'c2lnbmF0dXJl'", 'PUT\n\n']) expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain('sig=***');
    expect(scrubbed).toContain('sv=2024');
  });

  it('scrubs a RestError in place: message, stack, details, request URL and headers, response body', () => {
    const request = createPipelineRequest({
      url: `https://a.blob.core.windows.net/c/b?sig=${sig}`,
      headers: createHttpHeaders({ authorization: 'SharedKey a:c2lnbmF0dXJl', 'x-ms-copy-source': `https://a/c/src?sig=${sig}` }),
    });
    const error = new RestError(`request to https://a.blob.core.windows.net/c/b?sig=${sig} failed`, { statusCode: 403, code: 'AuthenticationFailed', request });
    error.details = { authenticationErrorDetail: "The MAC signature found in the HTTP request 'c2lnbmF0dXJl' is not the same" };
    scrubError(error, [key]);
    const everything = [error.message, error.stack, JSON.stringify(error.details), request.url, JSON.stringify(request.headers.toJSON()), inspect(error, { showHidden: true, depth: 8 })].join('\n');
    expect(everything).not.toContain(sig);
    expect(everything).not.toContain('c2lnbmF0dXJl');
    expect(request.headers.get('authorization')).toBe('***');
    expect(request.headers.get('x-ms-copy-source')).toBe('https://a/c/src?sig=***');
  });

  it('calls an SDK abort ABORTED only when the caller aborted: otherwise the connection was dropped', () => {
    const abort = (): Error => Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    const controller = new AbortController();
    expect(mapAzureError(abort(), { backend: 'azure', doing: 'read', signal: controller.signal, secrets: [] }).code).toBe('UNAVAILABLE');
    expect(mapAzureError(abort(), { backend: 'azure', doing: 'read', secrets: [] }).code).toBe('UNAVAILABLE');
    controller.abort();
    expect(mapAzureError(abort(), { backend: 'azure', doing: 'read', signal: controller.signal, secrets: [] }).code).toBe('ABORTED');
  });

  it('builds a stowage error with the operation, the key, the status and code, and a scrubbed cause', () => {
    const error = mapAzureError(restError(403, 'AuthorizationPermissionMismatch', `not allowed for ...?sig=${sig}\nRequestId:1`), {
      backend: 'azure',
      doing: 'write',
      key: 'a.txt',
      secrets: [key],
    });
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toBe('azure: write "a.txt" failed: 403 AuthorizationPermissionMismatch: not allowed for ...?sig=***');
    expect(error.key).toBe('a.txt');
    expect((error.cause as Error).message).not.toContain(sig);
  });
});
