import { describe, expect, it } from 'vitest';
import { closestName, isStowageError, openStore, readUrlParameters } from '@stowage/core';

describe('store URL parameters', () => {
  const spec = { tableName: 'string', createTable: 'boolean', chunkSize: 'positiveInteger', journalMode: ['wal', 'delete'], limit: 'nonNegativeInteger', delay: 'positiveNumber', shift: 'integer' } as const;

  it('reads each parameter after its type, and leaves the others to the driver', () => {
    const url = new URL('postgres://u@h/db?tableName=files&createTable=0&chunkSize=4096&journalMode=DELETE&limit=0&delay=1.5&shift=-2&sslmode=disable');
    const { values, rest } = readUrlParameters(url, spec, { backend: 'sql-blob', driver: { driver: 'the pg driver', names: ['sslmode'] } });
    expect(values).toEqual({ tableName: 'files', createTable: false, chunkSize: 4096, journalMode: 'delete', limit: 0, delay: 1.5, shift: -2 });
    expect(rest.href).toBe('postgres://u@h/db?sslmode=disable');
    expect(readUrlParameters(new URL('file:///x?createTable'), spec, { backend: 'local' }).values).toEqual({ createTable: true });
    expect(readUrlParameters(new URL('memory://'), spec, { backend: 'memory' }).values).toEqual({});
  });

  it('refuses an unknown parameter, with the closest known name and what goes to the driver', () => {
    const refuse = (text: string, driver?: { driver: string; names: readonly string[] }) => {
      try {
        readUrlParameters(new URL(text), spec, { backend: 'sql-blob', driver });
      } catch (error) {
        expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
        return (error as Error).message;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(refuse('postgres://h/db?tablename=x', { driver: 'the pg driver', names: ['sslmode', 'application_name'] })).toBe(
      'unknown parameter "tablename" in a postgres: URL: did you mean "tableName"? (sql-blob reads tableName, createTable, chunkSize, journalMode, limit, delay, shift; the pg driver reads sslmode, application_name (passed on to it unchanged))',
    );
    expect(refuse('postgres://h/db?sslmod=require', { driver: 'the pg driver', names: ['sslmode'] })).toMatch(/did you mean "sslmode"\?/);
    expect(refuse('sqlite:./y.db?bogus=1')).toBe('unknown parameter "bogus" in a sqlite: URL (sql-blob reads tableName, createTable, chunkSize, journalMode, limit, delay, shift)');
    expect(refuse('sqlite:./y.db?chunkSize=1&chunkSize=2')).toBe('the chunkSize parameter appears twice in a sqlite: URL');
    expect(refuse('sqlite:./y.db?chunkSize=-1')).toBe('the chunkSize parameter of a sqlite: URL must be a positive integer, got "-1"');
    expect(refuse('sqlite:./y.db?createTable=maybe')).toMatch(/must be true or false, got "maybe"/);
    expect(refuse('sqlite:./y.db?journalMode=fast')).toMatch(/must be one of wal, delete, got "fast"/);
    expect(refuse('sqlite:./y.db?limit=1e3')).toMatch(/must be a non-negative integer/);
    expect(refuse('sqlite:./y.db?delay=0')).toMatch(/must be a positive number/);
    expect(refuse('sqlite:./y.db?shift=9007199254740993')).toMatch(/must be an integer/);
  });

  it('never echoes the value of a secret-looking parameter', () => {
    expect(() => readUrlParameters(new URL('x://h?accessKey=hunter2222'), { accessKey: 'positiveInteger' }, { backend: 'x' })).toThrow(/^the accessKey parameter of a x: URL must be a positive integer$/);
  });

  it('suggests a name only when it is close', () => {
    expect(closestName('tablename', ['tableName', 'createTable'])).toBe('tableName');
    expect(closestName('fsnyc', ['fsync', 'lockTimeoutMs'])).toBe('fsync');
    expect(closestName('bogus', ['tableName', 'createTable', 'chunkSize'])).toBeUndefined();
    expect(closestName('x', [])).toBeUndefined();
  });

  it('is what every adapter of this repository reads its URLs with', async () => {
    for (const [url, message] of [
      ['file:./d?bogus=1', /unknown parameter "bogus" in a file: URL \(local reads fsync, lockTimeoutMs, staleLockMs\)/],
      ['file:./d?fsnyc=1', /did you mean "fsync"\?/],
      ['memory://?hierarchy=true', /unknown parameter "hierarchy" in a memory: URL: did you mean "hierarchical"\?/],
      ['sqlite:./y.db?bogus=1', /unknown parameter "bogus" in a sqlite: URL \(sql-blob reads tableName, createTable, maxBlobSize, chunkSize, inlineOnly, journalMode, autoSweep\)$/],
      ['postgres://127.0.0.1:1/db?tablename=x', /did you mean "tableName"\?.*the pg driver reads ssl, sslmode/],
      ['mysql://127.0.0.1:1/db?charst=utf8', /did you mean "charset"\?.*the mysql2 driver reads/],
      ['s3://bucket/p?regoin=eu-west-1', /did you mean "region"\?/],
      ['gs://bucket/p?projectID=x', /did you mean "projectId"\?/],
      ['az://container?acount=x', /did you mean "account"\?/],
    ] as const) {
      const error = await openStore(url).catch((e: unknown) => e);
      expect(isStowageError(error, 'INVALID_ARGUMENT'), url).toBe(true);
      expect((error as Error).message, url).toMatch(message);
    }
  });
});
