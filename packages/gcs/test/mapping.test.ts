/**
 * The pure parts: GCS errors onto stowage codes, credential redaction, metadata value encoding and
 * etags (no server).
 */
import { describe, expect, it } from 'vitest';
import { codeOfGcsError, mapGcsError, redact } from '../src/gcs-errors.ts';
import { decodeMetadataValue, encodeMetadataValue, etagOf, preconditionsOfEtag } from '../src/object-metadata.ts';

function apiError(code: number | string, message = 'native message'): Error {
  return Object.assign(new Error(message), { code });
}

describe('gcs error mapping', () => {
  it('maps statuses and network failures onto stowage codes', () => {
    const expectations: [unknown, string, object?][] = [
      [apiError(404), 'NOT_FOUND'],
      [apiError(404), 'PRECONDITION_FAILED', { conditional: true }],
      [apiError(412), 'PRECONDITION_FAILED'],
      [apiError(412), 'ALREADY_EXISTS', { createOnly: true }],
      [apiError(416), 'RANGE_NOT_SATISFIABLE'],
      [apiError(401), 'PERMISSION_DENIED'],
      [apiError(403), 'PERMISSION_DENIED'],
      [apiError(429), 'UNAVAILABLE'],
      [apiError(500), 'UNAVAILABLE'],
      [apiError(503), 'UNAVAILABLE'],
      [apiError(501), 'CAPABILITY_NOT_SUPPORTED'],
      [apiError(400), 'INVALID_ARGUMENT'],
      [Object.assign(new Error('request failed, reason: socket hang up'), { code: 'ECONNRESET' }), 'UNAVAILABLE'],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'UNAVAILABLE'],
      [Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), 'UNAVAILABLE'],
      [new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication'), 'PERMISSION_DENIED'],
      [new Error('Cannot sign data without `client_email`.'), 'PERMISSION_DENIED'],
    ];
    for (const [error, code, context] of expectations) expect(codeOfGcsError(error, context), String((error as Error).message)).toBe(code);
  });

  it('maps an exhausted storage quota and 507 onto STORAGE_FULL, not retryable; a rate limit stays UNAVAILABLE', () => {
    const quota = Object.assign(new Error('The bucket quota was exceeded.'), { code: 403, errors: [{ reason: 'quotaExceeded', message: 'The bucket quota was exceeded.' }] });
    for (const native of [quota, apiError(507, 'Insufficient Storage')]) {
      expect(codeOfGcsError(native)).toBe('STORAGE_FULL');
      const error = mapGcsError(native, { backend: 'gcs', doing: 'write', key: 'a.bin' });
      expect(error).toMatchObject({ code: 'STORAGE_FULL', retryable: false, key: 'a.bin' });
      expect(error.message).toMatch(/storage quota of the bucket or its project is used up, or the server is out of space: free space or raise the quota/);
    }
    expect(codeOfGcsError(Object.assign(new Error('slow down'), { code: 429, errors: [{ reason: 'rateLimitExceeded' }] }))).toBe('UNAVAILABLE');
    expect(codeOfGcsError(Object.assign(new Error('quota'), { code: 429, errors: [{ reason: 'quotaExceeded' }] }))).toBe('UNAVAILABLE');
  });

  it('builds typed errors with the key and backend, the native error as cause, and an abort as ABORTED', () => {
    const native = apiError(404, 'No such object: b/k');
    const error = mapGcsError(native, { backend: 'gcs', doing: 'stat', key: 'k' });
    expect(error).toMatchObject({ code: 'NOT_FOUND', key: 'k', backend: 'gcs', cause: native });
    expect(error.message).toBe('gcs: stat "k" failed: 404 No such object: b/k');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    expect(mapGcsError(apiError(500), { backend: 'gcs', doing: 'write', signal: controller.signal }).code).toBe('ABORTED');
  });

  it('redacts keys, tokens, signatures and known secrets from messages', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
    const text = [
      `key ${pem}`,
      'Authorization: Bearer ya29.a0AfH6SMBxyz',
      'https://storage.googleapis.com/b/o?X-Goog-Signature=abcdef0123&X-Goog-Credential=sa%40p.iam',
      '{"private_key":"-----BEGIN","client_secret":"s3cr3t-value"}',
      'assertion=eyJhbGciOi.payload.sig&grant_type=x',
      'known: hunter2-the-secret',
    ].join('\n');
    const out = redact(text, ['hunter2-the-secret']);
    for (const secret of ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'ya29.a0AfH6SMBxyz', 'abcdef0123', 's3cr3t-value', 'eyJhbGciOi', 'hunter2-the-secret']) expect(out).not.toContain(secret);
    expect(out).toContain('X-Goog-Signature=***');
    const mapped = mapGcsError(new Error(`upload failed: ${pem}`), { backend: 'gcs', doing: 'write', key: 'k' });
    expect(mapped.message).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
  });
});

describe('gcs metadata values and etags', () => {
  it('encodes exactly the values GCS could alter, and decodes every value back', () => {
    const values = ['plain', 'Zoë ✓ 日本 😀', '', ' lead', 'trail ', 'a\nb', 'tab\there', '\u0000', '=?utf-8?b?WsO2w6s=?=', '=?x?=', '100%25'];
    for (const value of values) expect(decodeMetadataValue(encodeMetadataValue(value)), JSON.stringify(value)).toBe(value);
    expect(encodeMetadataValue('Zoë ✓ 日本 😀')).toBe('Zoë ✓ 日本 😀');
    expect(encodeMetadataValue('a\nb')).toMatch(/^=\?utf-8\?b\?[A-Za-z0-9+/=]+\?=$/);
  });

  it('turns an etag into generation and metageneration preconditions, and refuses foreign etags', () => {
    expect(etagOf('1700000000000001', '2')).toBe('"1700000000000001.2"');
    expect(preconditionsOfEtag('"1700000000000001.2"')).toEqual({ ifGenerationMatch: '1700000000000001', ifMetagenerationMatch: '2' });
    for (const foreign of ['"not-an-etag-this-backend-made"', 'CJ+4rK3W1fkCEAE=', '"0.1"', '"12"', '']) expect(preconditionsOfEtag(foreign), foreign).toBeUndefined();
  });
});
