/**
 * The location grammar, case by case: what each argument refers to (store URL and key, a configured
 * store, the default store, a local path) and which arguments are usage errors.
 */
import { describe, expect, it } from 'vitest';
import { parseLocation, type Location } from '@stowage/cli';
import { optionsFromAzureUrl } from '@stowage/azure';
import { optionsFromGcsUrl } from '@stowage/gcs';
import { optionsFromS3Url } from '@stowage/s3';

const cwd = '/work/project';
const context = { cwd, storeNames: new Set(['reports', 'lake.eu', 'my_store']) };
const parse = (text: string): Location => parseLocation(text, context);

function store(text: string): { url?: string; name?: string; kind: string; key: string } {
  const location = parse(text);
  if (location.kind !== 'store') throw new Error(`${text} is a ${location.kind}`);
  const ref = location.store;
  return ref.kind === 'url' ? { kind: 'url', url: ref.url, key: location.key } : ref.kind === 'named' ? { kind: 'named', name: ref.name, key: location.key } : { kind: 'default', key: location.key };
}

function usage(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('USAGE');
    return (error as Error).message;
  }
  throw new Error(`${text} parsed without error`);
}

describe('locations', () => {
  it('splits sqlite: at the first segment with a SQLite extension', () => {
    expect(store('sqlite:./store.db/models/v3.pkl')).toEqual({ kind: 'url', url: 'sqlite:./store.db', key: 'models/v3.pkl' });
    expect(store('sqlite:data/blobs.sqlite3/a.txt')).toEqual({ kind: 'url', url: 'sqlite:data/blobs.sqlite3', key: 'a.txt' });
    expect(store('sqlite:///srv/app/store.db/a/b')).toEqual({ kind: 'url', url: 'sqlite:///srv/app/store.db', key: 'a/b' });
    expect(store('sqlite:./store.db')).toEqual({ kind: 'url', url: 'sqlite:./store.db', key: '' });
    expect(store('sqlite:./store.db/docs/')).toEqual({ kind: 'url', url: 'sqlite:./store.db', key: 'docs/' });
    // The query goes to the store, the key stays literal (never percent-decoded).
    expect(store('sqlite:./store.db/a%20b.txt?journalMode=delete')).toEqual({ kind: 'url', url: 'sqlite:./store.db?journalMode=delete', key: 'a%20b.txt' });
    // Only the first such segment counts: a key may end in .db.
    expect(store('sqlite:./store.db/backups/old.db')).toEqual({ kind: 'url', url: 'sqlite:./store.db', key: 'backups/old.db' });
  });

  it('splits sqlite: at // for a database file of another name, and keeps a bad key after an extension', () => {
    expect(store('sqlite:./data/blobs.bin//models/v3.pkl')).toEqual({ kind: 'url', url: 'sqlite:./data/blobs.bin', key: 'models/v3.pkl' });
    expect(store('sqlite:./store.db/a//b')).toEqual({ kind: 'url', url: 'sqlite:./store.db', key: 'a//b' });
    expect(store('sqlite:./blobs')).toEqual({ kind: 'url', url: 'sqlite:./blobs', key: '' });
    expect(store('sqlite::memory:/a.txt')).toEqual({ kind: 'url', url: 'sqlite::memory:', key: 'a.txt' });
    expect(usage('sqlite:')).toMatch(/needs a database file/);
  });

  it('roots file: at the working directory, or at the folder before //', () => {
    expect(store('file:./dir/key')).toEqual({ kind: 'url', url: 'file:///work/project', key: 'dir/key' });
    expect(store('file:dir/sub/')).toEqual({ kind: 'url', url: 'file:///work/project', key: 'dir/sub/' });
    expect(store('file:/work/project/dir/key')).toEqual({ kind: 'url', url: 'file:///work/project', key: 'dir/key' });
    expect(store('file:.')).toEqual({ kind: 'url', url: 'file:///work/project', key: '' });
    expect(store('file:./data//notes/a.txt')).toEqual({ kind: 'url', url: 'file:///work/project/data', key: 'notes/a.txt' });
    expect(store('file:/srv/data//notes/a.txt')).toEqual({ kind: 'url', url: 'file:///srv/data', key: 'notes/a.txt' });
    expect(store('file:///srv/data//notes/')).toEqual({ kind: 'url', url: 'file:///srv/data', key: 'notes/' });
    expect(store('file://localhost/srv/data//x')).toEqual({ kind: 'url', url: 'file:///srv/data', key: 'x' });
    expect(usage('file:/srv/data/notes/a.txt')).toMatch(/outside the working directory.*file:\/srv\/data\/\/notes\/a\.txt/);
    expect(usage('file://otherhost/x')).toMatch(/another host/);
  });

  it('takes the authority (and a database name) as the store of server and cloud URLs', () => {
    expect(store('s3://bucket/reports/q3.pdf')).toEqual({ kind: 'url', url: 's3://bucket', key: 'reports/q3.pdf' });
    expect(store('s3://bucket/reports/q3.pdf?region=eu-west-1')).toEqual({ kind: 'url', url: 's3://bucket?region=eu-west-1', key: 'reports/q3.pdf' });
    expect(store('gs://bucket')).toEqual({ kind: 'url', url: 'gs://bucket', key: '' });
    expect(store('az://container/a/b')).toEqual({ kind: 'url', url: 'az://container', key: 'a/b' });
    expect(store('memory://scratch/a.txt')).toEqual({ kind: 'url', url: 'memory://scratch', key: 'a.txt' });
    expect(store('postgres://app:pw@db:5432/app/reports/q3.pdf?tableName=blobs')).toEqual({
      kind: 'url',
      url: 'postgres://app:pw@db:5432/app?tableName=blobs',
      key: 'reports/q3.pdf',
    });
    expect(store('mysql://root@127.0.0.1/test/')).toEqual({ kind: 'url', url: 'mysql://root@127.0.0.1/test', key: '' });
    expect(usage('s3:bucket/key')).toMatch(/starts with s3:\/\//);
    expect(usage('s3:///key')).toMatch(/names its store/);
    expect(usage('postgres://db.internal')).toMatch(/names the database/);
  });

  it("hands each cloud adapter the store URL its optionsFromUrl reads: the bucket or container, the account, credentials and query; the key stays out", () => {
    const s3 = store('s3://AKIAEXAMPLE:se%2Fcret@media/reports/q3.pdf?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000&forcePathStyle=true');
    expect(s3.key).toBe('reports/q3.pdf');
    expect(optionsFromS3Url(new URL(s3.url!))).toEqual({
      bucket: 'media',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'se/cret' },
    });
    const gs = store('gs://media/uploads/cat.jpg?projectId=acme&chunkSize=0');
    expect(gs.key).toBe('uploads/cat.jpg');
    expect(optionsFromGcsUrl(new URL(gs.url!))).toEqual({ bucket: 'media', projectId: 'acme', chunkSize: 0 });
    const az = store('az://files@acme/reports/q3.pdf?blockSize=4194304');
    expect(az.key).toBe('reports/q3.pdf');
    expect(optionsFromAzureUrl(new URL(az.url!))).toEqual({ container: 'files', accountName: 'acme', blockSize: 4194304 });
    const azure = store('azure://files/reports/?endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Fdevstoreaccount1');
    expect(azure.key).toBe('reports/');
    expect(optionsFromAzureUrl(new URL(azure.url!))).toEqual({ container: 'files', endpoint: 'http://127.0.0.1:10000/devstoreaccount1' });
    const shown = parse('s3://AKIAEXAMPLE:se%2Fcret@media/reports/q3.pdf');
    expect(shown.kind === 'store' && shown.prefix).toBe('s3://AKIAEXAMPLE:***@media/');
  });

  it('shows store URLs in messages with their password masked', () => {
    const location = parse('postgres://app:hunter22@db/app/a.txt');
    expect(location.kind === 'store' && location.prefix).toBe('postgres://app:***@db/app/');
  });

  it('reads NAME:KEY as a configured store, literally, and :KEY as the default store', () => {
    expect(store('reports:q3/summary.pdf')).toEqual({ kind: 'named', name: 'reports', key: 'q3/summary.pdf' });
    expect(store('lake.eu:a?b#c.txt')).toEqual({ kind: 'named', name: 'lake.eu', key: 'a?b#c.txt' });
    expect(store('my_store:')).toEqual({ kind: 'named', name: 'my_store', key: '' });
    expect(store(':notes/a.txt')).toEqual({ kind: 'default', key: 'notes/a.txt' });
    expect(store(':')).toEqual({ kind: 'default', key: '' });
    expect(usage('nosuch:key')).toMatch(/unknown store or URL scheme 'nosuch'.*reports, lake\.eu, my_store/);
  });

  it('reads everything else as a local path, resolved against the working directory', () => {
    expect(parse('./report.pdf')).toEqual({ kind: 'path', text: './report.pdf', path: '/work/project/report.pdf' });
    expect(parse('report.pdf')).toMatchObject({ kind: 'path', path: '/work/project/report.pdf' });
    expect(parse('/tmp/x')).toMatchObject({ kind: 'path', path: '/tmp/x' });
    expect(parse('./a:b')).toMatchObject({ kind: 'path', path: '/work/project/a:b' });
    expect(parse('dir/a:b')).toMatchObject({ kind: 'path', path: '/work/project/dir/a:b' });
    // One letter before the colon is a drive letter, never a store.
    expect(parse('C:data')).toMatchObject({ kind: 'path' });
    expect(parse('-')).toEqual({ kind: 'stdio', text: '-' });
    expect(usage('')).toMatch(/cannot be empty/);
  });
});
