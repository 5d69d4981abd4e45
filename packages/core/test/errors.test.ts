import { describe, expect, it } from 'vitest';
import { ErrorCode, NotFoundError, StowageError, TooLargeError, byteCount, createError, isStowageError } from '@stowage/core';

describe('errors', () => {
  it('carry code, key, backend and cause', () => {
    const cause = new Error('ENOENT');
    const error = new NotFoundError('no object at "a"', { key: 'a', backend: 'local', cause });
    expect(error).toBeInstanceOf(StowageError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.name).toBe('NotFoundError');
    expect(error.key).toBe('a');
    expect(error.backend).toBe('local');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(false);
    expect(createError('UNAVAILABLE', 'try later').retryable).toBe(true);
  });

  it('are recognized across two copies of core by their brand', () => {
    // A structural copy of an error from another copy of core: same global symbol, different class.
    const foreign = Object.assign(new Error('x'), { code: 'TOO_LARGE' });
    Object.defineProperty(foreign, Symbol.for('stowage.error'), { value: true });
    expect(isStowageError(foreign)).toBe(true);
    expect(isStowageError(foreign, 'TOO_LARGE')).toBe(true);
    expect(isStowageError(foreign, 'NOT_FOUND')).toBe(false);
    expect(isStowageError(Object.assign(new Error('x'), { code: 'NOT_FOUND' }))).toBe(false);
    expect(isStowageError(null)).toBe(false);
    expect(isStowageError('NOT_FOUND')).toBe(false);
  });

  it('are recognized by a second, separately loaded copy of core', async () => {
    // The query string makes the module loader evaluate errors.ts a second time: two copies, two classes.
    const specifier = '../src/errors.ts?second-copy';
    const second = (await import(/* @vite-ignore */ specifier)) as typeof import('../src/errors.ts');
    expect(second.StowageError).not.toBe(StowageError);
    const fromSecond = new second.NotFoundError('gone', { key: 'k' });
    expect(fromSecond).not.toBeInstanceOf(StowageError);
    expect(isStowageError(fromSecond, 'NOT_FOUND')).toBe(true);
    expect(second.isStowageError(new NotFoundError('gone'), 'NOT_FOUND')).toBe(true);
  });

  it('createError builds the subclass for every code', () => {
    for (const code of Object.values(ErrorCode)) {
      const error = createError(code, 'm');
      expect(error.code).toBe(code);
      expect(isStowageError(error, code)).toBe(true);
    }
    expect(new TooLargeError(10, 'big').limit).toBe(10);
  });

  it('count bytes in their messages as people do', () => {
    expect([0, 1, 2, 1024].map(byteCount)).toEqual(['0 bytes', '1 byte', '2 bytes', '1024 bytes']);
  });
});
