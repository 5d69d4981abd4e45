/**
 * `@stowage/conformance/reliability`: the unhappy paths, for an adapter's own vitest tests. Races on
 * one key, hostile keys (property-based), connection faults through a {@link FaultProxy}, secrets
 * never printed, and resources released when the stores close.
 *
 * @example
 * ```ts
 * // test/reliability.test.ts
 * import { describeReliability } from '@stowage/conformance/reliability'
 *
 * describeReliability({ name: 'my-adapter', factory: () => openTestStore(), secrets: [password] })
 * ```
 *
 * @module
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { inspect } from 'node:util';
import type { Store } from '@stowage/core';
import { openFactory, randomToken } from '../context.ts';
import { startFaultProxy, type FaultProxy } from '../faults/proxy.ts';
import type { StoreFactory } from '../types.ts';
import { abortWhileSlow, cutDownloadResumed, cutDownloadUnretried, cutUpload, type FaultStores, type UploadTrial } from './connection-faults.ts';
import { checkHostileKeys, checkMetacharacterListing, type HostileKeyOptions } from './hostile-keys.ts';
import { raceCompareAndSwap, raceCreateOnly, raceOverwrite, type RaceOptions } from './races.ts';
import { expectResourcesReleased, resourceSnapshot, type ResourceSnapshot } from './resources.ts';
import { createSecretScanner, type SecretScanner } from './secrets.ts';

export { abortWhileSlow, cutDownloadResumed, cutDownloadUnretried, cutUpload, type FaultStores, type UploadTrial } from './connection-faults.ts';
export { METACHARACTER_KEYS, checkHostileKeys, checkMetacharacterListing, hostileKey, keyIsValid, type HostileKeyOptions, type HostileKeyReport } from './hostile-keys.ts';
export { raceCompareAndSwap, raceCreateOnly, raceOverwrite, type RaceOptions } from './races.ts';
export { expectResourcesReleased, resourceSnapshot, type ResourceSnapshot } from './resources.ts';
export { createSecretScanner, type SecretScanner } from './secrets.ts';

/** The checks of {@link describeReliability}, by id (what `overrides` name). */
export const RELIABILITY_CHECKS = [
  'races/create-only',
  'races/overwrite',
  'races/compare-and-swap',
  'keys/hostile',
  'keys/metacharacters',
  'faults/upload-cut',
  'faults/download-resumed',
  'faults/download-unretried',
  'faults/abort-while-slow',
  'secrets',
  'resources',
] as const;

/** One of {@link RELIABILITY_CHECKS}. */
export type ReliabilityCheck = (typeof RELIABILITY_CHECKS)[number];

/** How the connection-fault checks reach the server through a proxy. */
export interface ConnectionFaultOptions {
  /** The server the proxy forwards to: `host:port`, a URL, or `{ host, port }`. */
  target: string | { host: string; port: number };
  /** Opens the two stores on one fresh root: one through `proxy` (its port replaces the server's), one direct. */
  open(proxy: FaultProxy): Promise<FaultStores & { teardown?: (() => Promise<void>) | undefined }>;
  /** Bytes per upload trial: above the backend's part or chunk size, so that parts are cut (default 3 MiB). */
  uploadSize?: number | undefined;
  /** Bytes of the download checks (default 1 MiB). */
  downloadSize?: number | undefined;
  /** Trials per cut point (default 5). */
  trials?: number | undefined;
  /** Where uploads are cut, as fractions of the body (default 10 %, 50 % and 99 %). */
  fractions?: readonly number[] | undefined;
}

/** Options of {@link describeReliability}. */
export interface ReliabilityOptions {
  /** Names the `describe` block. */
  name: string;
  /** The store under test (a fresh root of its own); may return `{ store, teardown }`. Not needed when only `faults` run. */
  factory?: StoreFactory | undefined;
  /** Checks this server cannot verify, with the reason: reported as skipped "not verifiable on this server". */
  overrides?: Partial<Record<ReliabilityCheck, string>> | undefined;
  races?: RaceOptions | undefined;
  keys?: HostileKeyOptions | undefined;
  /** The connection-fault checks, for a backend with a server. */
  faults?: ConnectionFaultOptions | undefined;
  /** The credentials the stores use: nothing the suite produced may contain one. */
  secrets?: readonly string[] | undefined;
  /** Operations that must fail, run for the secret scan (a wrong password, an unreachable server, …). */
  failures?: (() => Promise<unknown>)[] | undefined;
  /** Per-check time limit (default 120 s). */
  timeout?: number | undefined;
}

/**
 * Registers the reliability checks as one vitest `describe` block. Run it in a test file of its own:
 * the resource check compares what the process holds before and after the block.
 */
export function describeReliability(options: ReliabilityOptions): void {
  for (const id of Object.keys(options.overrides ?? {})) {
    if (!(RELIABILITY_CHECKS as readonly string[]).includes(id)) throw new Error(`reliability override ${JSON.stringify(id)} names no check (${RELIABILITY_CHECKS.join(', ')})`);
  }
  const timeout = options.timeout ?? 120_000;
  const scanner: SecretScanner = createSecretScanner(options.secrets ?? []);
  let before: ResourceSnapshot | undefined;
  let opened: { store: Store; teardown: () => Promise<void> } | undefined;
  let restoreOutput: (() => void) | undefined;
  const store = (): Store => {
    if (!opened) throw new Error('the reliability factory did not produce a store');
    return opened.store;
  };
  const check = (id: ReliabilityCheck, title: string, run: () => Promise<void>, needs: 'store' | 'faults' | 'none' = 'store'): void => {
    const reason = options.overrides?.[id];
    if (reason !== undefined) {
      it.skip(`[${id}] ${title} (not verifiable on this server: ${reason})`, () => {});
      return;
    }
    if ((needs === 'store' && !options.factory) || (needs === 'faults' && !options.faults)) return;
    it(`[${id}] ${title}`, async () => {
      try {
        await run();
      } catch (error) {
        scanner.record(error);
        throw error;
      }
    }, timeout);
  };
  /** Runs an operation that may fail, keeping its error for the secret scan. */
  const noting = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } catch (error) {
      scanner.record(error);
      throw error;
    }
  };

  describe(`stowage reliability: ${options.name}`, () => {
    beforeAll(async () => {
      before = resourceSnapshot();
      restoreOutput = scanner.captureOutput();
      if (options.factory) opened = await openFactory(options.factory);
    }, timeout);
    afterAll(async () => {
      restoreOutput?.();
      await opened?.teardown();
    }, timeout);

    if (options.factory) describe('races', () => {
      const conditional = (): boolean => store().capabilities.conditionalWrite;
      check('races/create-only', `${options.races?.createOnlyWriters ?? 50} concurrent create-only writers on one key: exactly one wins`, async () => {
        if (!conditional()) return;
        await noting(raceCreateOnly(store().at(`r-${randomToken()}/`), 'lock', options.races));
      });
      check('races/overwrite', `${options.races?.overwriters ?? 50} concurrent overwriters: the result is exactly one writer's bytes`, async () => {
        await noting(raceOverwrite(store().at(`r-${randomToken()}/`), 'object.bin', options.races));
      });
      check('races/compare-and-swap', `${options.races?.updaters ?? 20} concurrent if-match updaters of a counter: no update lost`, async () => {
        if (!conditional()) return;
        await noting(raceCompareAndSwap(store().at(`r-${randomToken()}/`), 'counter', options.races));
      });
    });

    if (options.factory) describe('hostile keys', () => {
      const orderGap = options.keys?.listingOrderGap === undefined ? '' : ` (listing order not verifiable on this server: ${options.keys.listingOrderGap})`;
      const excludedGap = options.keys?.excludedKeys === undefined ? '' : ` (keys matching ${options.keys.excludedKeys.pattern} not verifiable on this server: ${options.keys.excludedKeys.reason})`;
      check('keys/hostile', `${options.keys?.count ?? 10_000} random hostile keys: each valid and byte-exact (listing included), or INVALID_PATH${orderGap}${excludedGap}`, async () => {
        const report = await noting(checkHostileKeys(store().at(`h-${randomToken()}/`), options.keys));
        console.info(`hostile keys on ${options.name}: ${report.keys} keys (${report.valid} valid, ${report.invalid} refused), seed ${report.seed}`);
        if (report.keys === 0) throw new Error('no hostile key was checked within the time limit');
      });
      check('keys/metacharacters', 'keys and prefixes with SQL LIKE, GLOB and regex metacharacters list exactly what they should', async () => {
        await noting(checkMetacharacterListing(store().at(`m-${randomToken()}/`)));
      });
    });

    let proxy: FaultProxy | undefined;
    let stores: (FaultStores & { teardown?: (() => Promise<void>) | undefined }) | undefined;
    const faults = options.faults;
    if (faults) describe('connection faults', () => {
      const ready = (): { proxy: FaultProxy; stores: FaultStores } => {
        if (!proxy || !stores) throw new Error('the fault proxy did not start');
        return { proxy, stores };
      };
      beforeAll(async () => {
        proxy = await startFaultProxy({ target: faults.target });
        stores = await faults.open(proxy);
      }, timeout);
      afterAll(async () => {
        await stores?.teardown?.();
        stores = undefined;
        await proxy?.close();
        proxy = undefined;
      }, timeout);
      const trials = faults.trials ?? 5;
      for (const fraction of faults.fractions ?? [0.1, 0.5, 0.99]) {
        check('faults/upload-cut', `upload cut at ${Math.round(fraction * 100)} % (${trials} trials): the old object intact or the new one whole, never a part, nothing left behind`, async () => {
          const { proxy: p, stores: s } = ready();
          const outcomes: UploadTrial[] = [];
          for (let trial = 0; trial < trials; trial++) {
            outcomes.push(await noting(cutUpload(s, p, `cut-${randomToken()}.bin`, faults.uploadSize ?? 3 * 1024 * 1024, fraction, 10 + trial)));
          }
          const failedCodes = outcomes.filter((outcome) => !outcome.stored).map((outcome) => outcome.code);
          console.info(`upload cut at ${fraction} on ${options.name}: ${outcomes.length - failedCodes.length} stored after all, ${failedCodes.length} failed (${[...new Set(failedCodes)].join(', ')})`);
        }, 'faults');
      }
      check('faults/download-resumed', 'download cut midway, with retries: resumed by range to byte-identical bytes', async () => {
        const { proxy: p, stores: s } = ready();
        await noting(cutDownloadResumed(s, p, `down-${randomToken()}.bin`, faults.downloadSize ?? 1024 * 1024));
      }, 'faults');
      check('faults/download-unretried', 'download cut midway, without retries: a typed UNAVAILABLE, never short or wrong bytes', async () => {
        const { proxy: p, stores: s } = ready();
        await noting(cutDownloadUnretried(s, p, `down-${randomToken()}.bin`, faults.downloadSize ?? 1024 * 1024));
      }, 'faults');
      check('faults/abort-while-slow', 'an abort while the server does not answer: ABORTED at once, for stat, read, write, list and delete', async () => {
        const { proxy: p, stores: s } = ready();
        await noting(abortWhileSlow(s, p, `slow-${randomToken()}.txt`));
      }, 'faults');
    });

    describe('secrets and resources', () => {
      if (options.secrets && options.secrets.length > 0) check('secrets', 'no error, log line or printed store, backend or config contains a credential', async () => {
        for (const failing of options.failures ?? []) {
          try {
            await failing();
          } catch (error) {
            scanner.record(error);
            continue;
          }
          throw new Error('an operation listed in failures succeeded');
        }
        if (opened) {
          const { store: s } = opened;
          for (const value of [s, s.backend, s.capabilities, s.retryPolicy]) {
            scanner.record(value);
            scanner.record(inspect(value, { depth: 4 }));
          }
        }
        scanner.assertClean();
      }, 'none');
      check('resources', 'once the stores are closed, no socket, file handle or pooled connection is left open', async () => {
        restoreOutput?.();
        restoreOutput = undefined;
        await opened?.teardown();
        opened = undefined;
        await stores?.teardown?.();
        stores = undefined;
        await proxy?.close();
        proxy = undefined;
        await expectResourcesReleased(before!);
      }, 'none');
    });
  });
}
