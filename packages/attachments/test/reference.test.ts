/** The reference type: round trips through JSON, and every malformed shape refused with INVALID_REFERENCE. */
import { describe, expect, it } from 'vitest';
import { isStowageError } from '@stowage/core';
import {
  contentTypeMatches,
  isAttachmentError,
  parseAttachment,
  parseAttachmentList,
  parseOptionalAttachment,
  sameAttachment,
  serializeAttachment,
  serializeAttachmentList,
  sniffContentType,
  type Attachment,
} from '@stowage/attachments';

const reference: Attachment = {
  slot: 'avatars',
  store: 'files',
  key: 'avatars/users/42/avatar/AbC.png',
  size: 1234,
  contentType: 'image/png',
  etag: '"abc"',
  sha256: 'a'.repeat(64),
  filename: 'Zoë’s picture.png',
  createdAt: '2026-01-02T03:04:05.678Z',
  extra: { width: 64, tags: ['a', null, true], nested: { depth: 1 } },
};

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
    if (isAttachmentError(error, 'INVALID_REFERENCE')) return error.message;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('attachment references', () => {
  it('round-trip through JSON text and objects, as copies', () => {
    const text = serializeAttachment(reference);
    expect(JSON.parse(text)).toEqual(reference);
    const parsed = parseAttachment(text);
    expect(parsed).toEqual(reference);
    expect(parseAttachment(parsed)).not.toBe(parsed);
    expect(parseAttachmentList(serializeAttachmentList([reference, reference]))).toEqual([reference, reference]);
    expect(parseAttachmentList(null)).toEqual([]);
    expect(parseOptionalAttachment(null)).toBeNull();
    expect(parseAttachment({ ...reference, filename: undefined, extra: undefined })).toMatchObject({ filename: null });
    expect(sameAttachment(reference, { ...reference, etag: 'other' })).toBe(true);
    expect(sameAttachment(reference, { ...reference, store: 'other' })).toBe(false);
  });

  it('refuses every malformed field', () => {
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', '{nope', /not JSON/],
      ['an array', [], /expected an object/],
      ['null', 'null', /expected an object/],
      ['unknown field', { ...reference, url: 'https://x' }, /unknown field 'url'/],
      ['missing slot', { ...reference, slot: undefined }, /'slot'/],
      ['empty store', { ...reference, store: '' }, /'store'/],
      ['traversal key', { ...reference, key: 'avatars/../secrets' }, /'key'/],
      ['absolute key', { ...reference, key: '/etc/passwd' }, /'key'/],
      ['negative size', { ...reference, size: -1 }, /'size'/],
      ['fractional size', { ...reference, size: 1.5 }, /'size'/],
      ['string size', { ...reference, size: '12' }, /'size'/],
      ['bad content type', { ...reference, contentType: 'png' }, /'contentType'/],
      ['header injection', { ...reference, contentType: 'text/plain\r\nx: 1' }, /'contentType'/],
      ['uppercase sha256', { ...reference, sha256: 'A'.repeat(64) }, /'sha256'/],
      ['short sha256', { ...reference, sha256: 'abc' }, /'sha256'/],
      ['numeric filename', { ...reference, filename: 42 }, /'filename'/],
      ['bad time', { ...reference, createdAt: 'yesterday' }, /'createdAt'/],
      ['impossible time', { ...reference, createdAt: '2026-13-45T99:00:00Z' }, /'createdAt'/],
      ['array extra', { ...reference, extra: [1] }, /'extra'/],
      ['non-JSON extra', { ...reference, extra: { when: new Date() } }, /extra\.when/],
      ['infinite extra', { ...reference, extra: { n: Number.POSITIVE_INFINITY } }, /extra\.n/],
    ];
    for (const [what, value, message] of cases) expect(refusal(() => parseAttachment(value)), what).toMatch(message);
    expect(refusal(() => parseAttachmentList([reference, { ...reference, size: -1 }]))).toMatch(/at index 1/);
    expect(refusal(() => parseAttachmentList('{}'))).toMatch(/expected an array/);
  });
});

describe('content types', () => {
  it('matches exact types, wildcards and parameters', () => {
    expect(contentTypeMatches('image/PNG', ['image/png'])).toBe(true);
    expect(contentTypeMatches('image/webp', ['image/*'])).toBe(true);
    expect(contentTypeMatches('text/plain; charset=utf-8', ['text/plain'])).toBe(true);
    expect(contentTypeMatches('imagex/png', ['image/*'])).toBe(false);
    expect(contentTypeMatches('application/pdf', ['*'])).toBe(true);
    expect(contentTypeMatches('application/pdf', [])).toBe(false);
  });

  it('recognizes files by their first bytes, and not text that merely starts alike', () => {
    const bytes = (...values: (number | string)[]) => new Uint8Array(values.flatMap((value) => (typeof value === 'string' ? Array.from(value, (c) => c.charCodeAt(0)) : [value])));
    expect(sniffContentType(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('image/jpeg');
    expect(sniffContentType(bytes('GIF89a'))).toBe('image/gif');
    expect(sniffContentType(bytes('RIFF', 0, 0, 0, 0, 'WEBP'))).toBe('image/webp');
    expect(sniffContentType(bytes(0, 0, 0, 0x18, 'ftypavif'))).toBe('image/avif');
    expect(sniffContentType(bytes(0, 0, 0, 0x18, 'ftypisom'))).toBe('video/mp4');
    expect(sniffContentType(bytes('%PDF-1.7'))).toBe('application/pdf');
    expect(sniffContentType(bytes('BM', 1, 2, 3, 4, 0, 0, 0, 0))).toBe('image/bmp');
    expect(sniffContentType(bytes('BMW is a car'))).toBeUndefined();
    expect(sniffContentType(bytes('ID3 tags are'))).toBeUndefined();
    expect(sniffContentType(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(sniffContentType(new Uint8Array())).toBeUndefined();
  });
});
