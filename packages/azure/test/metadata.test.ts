/**
 * The metadata codec without a server: identifier keys are stored as they are and other keys refused,
 * `stowage_k_` names of earlier versions still decode, every value maps to a header-safe ASCII value
 * and back exactly, and the store's own fields never collide with user keys.
 */
import { describe, expect, it } from 'vitest';
import { AZURE_METADATA_LIMIT, SHA256_FIELD, decodeKey, decodeValue, encodeKey, encodeValue, fromAzureMetadata, toAzureMetadata } from '../src/metadata.ts';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const HEADER_SAFE = /^[\x21-\x24\x26-\x7e](?: ?[\x21-\x24\x26-\x7e])*$/;

describe('metadata keys', () => {
  it('stores identifiers as they are and refuses every other key rather than rename it', () => {
    expect(encodeKey('author')).toBe('author');
    expect(encodeKey('snake_case')).toBe('snake_case');
    expect(encodeKey('_leading')).toBe('_leading');
    for (const key of ['x-custom', '0digit', 'stowage_sha256', 'stowage_x', '-_-']) {
      expect(() => encodeKey(key, 'k', 'azure'), key).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', key: 'k', backend: 'azure' }));
    }
  });

  it('decodes every stowage_k_ name that earlier versions wrote, and never a store field', () => {
    // The escape earlier versions applied to keys that are no identifiers.
    const legacyName = (key: string): string => `stowage_k_${key.replaceAll('_', '_5f').replaceAll('-', '_2d')}`;
    const alphabet = ['a', 'z', '0', '9', '_', '-'];
    const keys = new Set<string>(['stowage_sha256', 'stowage_k_x', 'stowage_', 's', '_5f', '_2d', '2d', 'a_5fb', 'a-5fb']);
    const grow = (prefix: string, depth: number): void => {
      if (depth === 0) return;
      for (const character of alphabet) {
        keys.add(prefix + character);
        grow(prefix + character, depth - 1);
      }
    };
    grow('', 4);
    for (const key of keys) {
      const name = legacyName(key);
      expect(name, key).toMatch(IDENTIFIER);
      expect(decodeKey(name), key).toBe(key);
      expect(decodeKey(name.toUpperCase()), `${key}, name in capitals`).toBe(key);
      if (IDENTIFIER.test(key) && !key.startsWith('stowage_')) expect(decodeKey(encodeKey(key)), key).toBe(key);
    }
  });

  it('skips the store fields and names stowage cannot represent', () => {
    expect(decodeKey(SHA256_FIELD)).toBeUndefined();
    expect(decodeKey('stowage_future_field')).toBeUndefined();
    expect(decodeKey('stowage_k_bad_7e')).toBeUndefined();
    expect(decodeKey('Origin')).toBe('origin');
  });
});

describe('metadata values', () => {
  const values = [
    'plain',
    'it\'s "quoted"',
    'a=b; c, d: e & f',
    '',
    ' leading',
    'trailing ',
    'two  spaces',
    'tab\there',
    'line\nbreak\r\n',
    '100%',
    '%zz',
    'b64:looks encoded',
    'b64:',
    'Zoë ✓ 日本',
    '😀🚀',
    '=?utf-8?b?WsO2w6s=?=',
    '\u0000\u001f\u007f',
    'é'.repeat(1000),
  ];

  it('keeps plain ASCII readable and encodes the rest, always header-safe, round-tripping exactly', () => {
    expect(encodeValue('plain')).toBe('plain');
    expect(encodeValue('a=b; c, d: e & f')).toBe('a=b; c, d: e & f');
    for (const value of values) {
      const encoded = encodeValue(value);
      expect(encoded, JSON.stringify(value)).toMatch(HEADER_SAFE);
      expect(decodeValue(encoded), JSON.stringify(value)).toBe(value);
    }
  });

  it('returns values other tools wrote as they are, also those that merely look encoded', () => {
    expect(decodeValue('camera 1')).toBe('camera 1');
    // Raw UTF-8 bytes another client sent, as Node hands them over (Latin-1 characters); raw Latin-1 stays as it came.
    expect(decodeValue(Buffer.from('naïve café', 'utf8').toString('latin1'))).toBe('naïve café');
    expect(decodeValue('Zo\xeb')).toBe('Zo\xeb');
    expect(decodeValue('b64:not base64!')).toBe('b64:not base64!');
    expect(decodeValue('b64:__8')).toBe('b64:__8');
  });
});

describe('metadata objects', () => {
  it('adds the SHA-256 under its own name and reads it back apart from the user metadata', () => {
    const sha256 = 'a'.repeat(64);
    const user = { x_y: 'Zoë', empty: '' };
    const azure = toAzureMetadata(user, sha256, 'k', 'azure');
    expect(azure[SHA256_FIELD]).toBe(sha256);
    expect(fromAzureMetadata(azure)).toEqual({ metadata: user, sha256 });
    expect(fromAzureMetadata({ ...azure, stowage_k_stowage_5fsha256: 'user value' })).toEqual({ metadata: { ...user, stowage_sha256: 'user value' }, sha256 });
    expect(fromAzureMetadata(undefined)).toEqual({ metadata: {}, sha256: undefined });
    expect(fromAzureMetadata({ [SHA256_FIELD]: 'not hex' }).sha256).toBeUndefined();
  });

  it('refuses metadata whose encoding passes Azure limit, with INVALID_ARGUMENT', () => {
    // Out of reach of 2 KiB of identifier keys (at most about 6.3 KiB once encoded), so checked with more.
    const many = Object.fromEntries(Array.from({ length: 1500 }, (_, index) => [`k${index}`, '']));
    expect(() => toAzureMetadata(many, undefined, 'k', 'azure')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const justUnder = { big: 'v'.repeat(AZURE_METADATA_LIMIT - 3) };
    expect(() => toAzureMetadata(justUnder, undefined, 'k', 'azure')).not.toThrow();
  });
});
