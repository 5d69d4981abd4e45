/**
 * S3 error mapping without a server: a used-up quota (RGW's 403 QuotaExceeded, MinIO's
 * XMinioStorageFull) or a 507 is STORAGE_FULL, not PERMISSION_DENIED nor UNAVAILABLE.
 */
import { describe, expect, it } from 'vitest';
import { codeOf, mapS3Error } from '../src/s3-errors.ts';

function sdkError(code: string, status: number, message = code): Error {
  return Object.assign(new Error(message), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

describe('s3 error mapping', () => {
  it('maps an exhausted quota and 507 onto STORAGE_FULL, not retryable, saying what is full', () => {
    for (const native of [sdkError('QuotaExceeded', 403), sdkError('XMinioStorageFull', 507, 'Storage backend has reached its minimum free drive threshold.'), sdkError('UnknownError', 507)]) {
      expect(codeOf(native), native.name).toBe('STORAGE_FULL');
      const error = mapS3Error(native, { backend: 's3', doing: 'write', key: 'a.bin', bucket: 'photos' });
      expect(error).toMatchObject({ code: 'STORAGE_FULL', retryable: false, key: 'a.bin', backend: 's3' });
      expect(error.message).toMatch(/the storage quota of the bucket "photos" or of its owner is used up, or the server is out of space .*: free space or raise the quota/);
    }
    expect(codeOf(sdkError('AccessDenied', 403))).toBe('PERMISSION_DENIED');
    expect(codeOf(sdkError('SlowDown', 503))).toBe('UNAVAILABLE');
  });
});
