/**
 * How the tests reach the servers the global setup started: a backend per test file on a fresh
 * random prefix of the shared bucket, and a raw S3Client for checks behind stowage's back.
 */
import { randomBytes } from 'node:crypto';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { Store } from '@stowage/core';
import { S3Backend, type S3Options } from '@stowage/s3';
import type { ProvidedServer } from './global-setup.ts';

/** Which server: the faithful one (RGW, or MinIO/AWS by URL) or s3rver. */
export type ServerName = 'main' | 's3rver';

/** The server's settings, or the reason to skip. */
export function server(name: ServerName): ProvidedServer {
  return inject('s3Servers')[name];
}

/** A random prefix, so that files and runs never see each other's objects. */
export function randomPrefix(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}/`;
}

/** Backend options for a server (its endpoint, keys and bucket), plus any given. */
export function backendOptions(settings: Record<string, string>, options: Partial<S3Options> = {}): S3Options {
  return {
    bucket: settings.bucket!,
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle === 'true',
    credentials: { accessKeyId: settings.accessKeyId!, secretAccessKey: settings.secretAccessKey! },
    ...options,
  };
}

/** The configuration of a client of the server, as the adapter configures its own. */
export function rawClientConfig(settings: Record<string, string>): S3ClientConfig {
  return {
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle === 'true',
    credentials: { accessKeyId: settings.accessKeyId!, secretAccessKey: settings.secretAccessKey! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** A client of its own for the server, configured as the adapter configures its own. */
export function rawClient(settings: Record<string, string>): S3Client {
  return new S3Client(rawClientConfig(settings));
}

/**
 * A store rooted at a fresh prefix of the server's bucket (a store root rather than the backend's
 * prefix option, so that the suite's longest keys count it); its teardown deletes what is left there
 * and closes it.
 */
export function openTestStore(settings: Record<string, string>, label: string, options: Partial<S3Options> = {}): { store: Store; backend: S3Backend; prefix: string; teardown: () => Promise<void> } {
  const prefix = randomPrefix(label);
  const backend = new S3Backend(backendOptions(settings, options));
  const store = new Store(backend, { root: prefix });
  return {
    store,
    backend,
    prefix,
    teardown: async () => {
      try {
        const keys: string[] = [];
        for await (const entry of store.listAll()) keys.push(entry.key);
        await store.deleteMany(keys);
      } finally {
        await backend.close();
      }
    },
  };
}
