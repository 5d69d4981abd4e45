/**
 * The adapter's pure parts, without a server: the metadata wire encoding, store URLs, part sizes and
 * the multipart etag.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { maskUrl } from '@stowage/core';
import { optionsFromS3Url } from '@stowage/s3';
import { SHA256_FIELD, decodeValue, encodeValue, fromWireMetadata, toWireMetadata } from '../src/metadata-encoding.ts';
import { MAX_OBJECT_SIZE, MAX_PARTS, basePartSize, fixedParts, multipartEtag, partSizeFor } from '../src/parts.ts';

describe('metadata wire encoding', () => {
  const values = ['plain', 'a b', '', ' lead', 'trail ', 'two  spaces', 'tab\there', 'line\nbreak', 'Zoë ✓ 日本 😀', '=?utf-8?b?WsO2w6s=?=', '=?', '100%25 %zz', `it's "quoted"`, '~!@#$%^&*()'];
  it('sends only printable ASCII and round-trips every value exactly', () => {
    for (const value of values) {
      const wire = encodeValue(value);
      expect(wire, JSON.stringify(value)).toMatch(/^[\x21-\x7e](?:[\x21-\x7e]| (?! ))*$/);
      expect(wire.endsWith(' ')).toBe(false);
      expect(decodeValue(wire), JSON.stringify(value)).toBe(value);
    }
  });

  it('leaves plain values readable by other tools', () => {
    expect(encodeValue('plain value')).toBe('plain value');
    expect(encodeValue('Zoë')).toBe(`=?UTF-8?B?${Buffer.from('Zoë').toString('base64')}?=`);
  });

  it('keeps names with _ apart from names with -, and the own field apart from every user name', () => {
    const metadata = { snake_case: '1', 'snake-case': '2', stowage_sha256: '3', 'stowage-sha256': '4', '-_-': '5' };
    const wire = toWireMetadata(metadata, 'a'.repeat(64));
    for (const name of Object.keys(wire)) expect(name).toMatch(/^[a-z0-9.-]+$/);
    expect(Object.keys(wire)).toHaveLength(6);
    expect(wire[SHA256_FIELD]).toBe('a'.repeat(64));
    expect(fromWireMetadata(wire)).toEqual({ metadata, sha256: 'a'.repeat(64) });
  });

  it('reads values as other clients write them: raw UTF-8 bytes, RFC 2047 B and Q words, several words, Latin-1', () => {
    const value = 'naïve café ✓ 日本語 😀';
    // What rclone and the bare AWS SDK for JavaScript send: UTF-8 bytes, which Node hands over as Latin-1 characters.
    expect(decodeValue(Buffer.from(value, 'utf8').toString('latin1'))).toBe(value);
    expect(decodeValue(`=?utf-8?b?${Buffer.from(value).toString('base64')}?=`)).toBe(value);
    expect(decodeValue('=?UTF-8?Q?na=C3=AFve_caf=C3=A9?=')).toBe('naïve café');
    expect(decodeValue('=?UTF-8?Q?na=C3=AFve?= =?UTF-8?B?IOaXpQ==?=')).toBe('naïve 日');
    expect(decodeValue('=?ISO-8859-1?Q?Zo=EB?=')).toBe('Zoë');
    // Not UTF-8 as bytes, or an unknown charset: taken as it is.
    expect(decodeValue('Zo\xeb')).toBe('Zo\xeb');
    expect(decodeValue('=?KOI8-R?B?8tXT?=')).toBe('=?KOI8-R?B?8tXT?=');
    expect(decodeValue('100% =? not a word')).toBe('100% =? not a word');
  });

  it('reads metadata written by other tools (upper-case names, raw values) and ignores a malformed digest', () => {
    expect(fromWireMetadata({ Author: 'ada', [SHA256_FIELD]: 'not hex' })).toEqual({ metadata: { author: 'ada' }, sha256: undefined });
  });
});

describe('s3: URLs', () => {
  it('read the bucket, prefix, endpoint, style, region, sizes and credentials', () => {
    const url = new URL('s3://AKIA123:se%2Fcret@my-bucket/some/prefix/?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000&forcePathStyle=true&partSize=16777216&partConcurrency=2');
    expect(optionsFromS3Url(url)).toEqual({
      bucket: 'my-bucket',
      prefix: 'some/prefix/',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      partSize: 16 * 1024 * 1024,
      partConcurrency: 2,
      credentials: { accessKeyId: 'AKIA123', secretAccessKey: 'se/cret' },
    });
    expect(optionsFromS3Url(new URL('s3://bucket'))).toEqual({ bucket: 'bucket' });
  });

  it('refuse unknown parameters, bad numbers and half credentials', () => {
    expect(() => optionsFromS3Url(new URL('s3://bucket?regoin=x'))).toThrow(/unknown parameter "regoin"/);
    expect(() => optionsFromS3Url(new URL('s3://bucket?partSize=5MiB'))).toThrow(/the partSize parameter of a s3: URL must be a non-negative integer/);
    expect(() => optionsFromS3Url(new URL('s3://key@bucket'))).toThrow(/both parts/);
    expect(() => optionsFromS3Url(new URL('s3://bucket?forcePathStyle=yes'))).toThrow(/forcePathStyle/);
  });

  it('are masked in messages: the secret in the user info and an access key in the query', () => {
    expect(maskUrl('s3://AKIA123:topsecret@bucket/p')).not.toContain('topsecret');
    expect(maskUrl('s3://bucket/p?accessKeyId=AKIA999&secretAccessKey=hidden')).not.toMatch(/AKIA999|hidden/);
  });
});

describe('parts', () => {
  it('cuts a stream of odd pieces into parts of exactly the asked sizes, the last one shorter', async () => {
    async function* pieces(): AsyncGenerator<Uint8Array> {
      for (let index = 0; index < 25; index++) yield new Uint8Array(7).fill(index);
    }
    const parts: Buffer[] = [];
    for await (const part of fixedParts(pieces(), (number) => (number === 1 ? 50 : 60))) parts.push(Buffer.from(part));
    expect(parts.map((part) => part.byteLength)).toEqual([50, 60, 60, 5]);
    expect(Buffer.concat(parts)).toEqual(Buffer.concat(Array.from({ length: 25 }, (_, index) => Buffer.alloc(7, index))));
  });

  it('yields one empty part for an empty body', async () => {
    const parts: Buffer[] = [];
    for await (const part of fixedParts((async function* () {})(), () => 10)) parts.push(part);
    expect(parts.map((part) => part.byteLength)).toEqual([0]);
  });

  it('grow so that 10,000 parts of a stream of unknown length hold 5 TiB, and fit a known size', () => {
    let total = 0;
    for (let number = 1; number <= MAX_PARTS; number++) total += partSizeFor(number, 5 * 1024 * 1024);
    expect(total).toBeGreaterThanOrEqual(MAX_OBJECT_SIZE);
    expect(basePartSize(8 * 1024 * 1024, 1024)).toBe(8 * 1024 * 1024);
    expect(basePartSize(8 * 1024 * 1024, MAX_OBJECT_SIZE) * MAX_PARTS).toBeGreaterThanOrEqual(MAX_OBJECT_SIZE);
  });

  it('compute the multipart etag S3 gives, or nothing when a part etag is not an MD5', () => {
    const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
    const expected = createHash('md5').update(Buffer.concat([Buffer.from(md5('a'), 'hex'), Buffer.from(md5('b'), 'hex')])).digest('hex');
    expect(multipartEtag([`"${md5('a')}"`, md5('b')])).toBe(`"${expected}-2"`);
    expect(multipartEtag(['"not-an-md5"'])).toBeUndefined();
  });
});

describe('the first part', () => {
  it('starts small and grows for a body of unknown size, and is exact for a known one', async () => {
    async function* pieces(count: number, size: number): AsyncGenerator<Uint8Array> {
      for (let index = 0; index < count; index++) yield new Uint8Array(size).fill(index + 1);
    }
    const small: Buffer[] = [];
    for await (const part of fixedParts(pieces(1, 1000), () => 8 * 1024 * 1024)) small.push(part);
    expect(small[0]!.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
    const grown: Buffer[] = [];
    for await (const part of fixedParts(pieces(30, 10_000), () => 200_000)) grown.push(Buffer.from(part));
    expect(grown.map((part) => part.byteLength)).toEqual([200_000, 100_000]);
    expect(Buffer.concat(grown)).toEqual(Buffer.concat(Array.from({ length: 30 }, (_, index) => Buffer.alloc(10_000, index + 1))));
    const exact: Buffer[] = [];
    for await (const part of fixedParts(pieces(3, 100), () => 8 * 1024 * 1024, undefined, 300)) exact.push(part);
    expect(exact[0]!.byteLength).toBe(300);
  });
});
