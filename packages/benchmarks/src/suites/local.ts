/**
 * The local-folder adapter against the hardware's own path (`node:fs`) and the peer libraries on the
 * same filesystem: flydrive's fs driver, unstorage's fs driver and Apache OpenDAL's fs service.
 *
 * - put and get of 1 KiB (ops/s) and 64 MiB (MiB/s), every library in the same run, alternately;
 * - a streamed copy of 1 GiB from a file into the store and back out, each in a child process for
 *   its peak RSS, against `fs.copyFile` and a bare `stream.pipeline`.
 *
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { bytes, drain, mibPerSecond, pieces, timed } from '../bodies.ts';
import { KiB, MiB, addComparisonRows, compare, compareInChildren, formatNumber, formatRatio, formatSize, median, type BenchSuite, type ChildSide, type Side } from '../harness.ts';

/** One library's put and get of whole buffers, and its streamed write from a file and read. */
interface Library {
  readonly label: string;
  put(key: string, body: Uint8Array): Promise<unknown>;
  get(key: string): Promise<Uint8Array>;
  /** Streams the file at `source` into `key`. */
  writeFrom(key: string, source: string): Promise<unknown>;
  /** Reads `key` to its end; the number of bytes. */
  readAll(key: string): Promise<number>;
  close?(): Promise<void>;
}

const LIBRARIES = ['stowage', 'node:fs', 'flydrive', 'unstorage', 'opendal'] as const;
type LibraryName = (typeof LIBRARIES)[number];

async function openLibrary(name: LibraryName, root: string): Promise<Library> {
  await mkdir(root, { recursive: true });
  switch (name) {
    case 'stowage': {
      const store = new Store(new LocalBackend({ root }));
      return {
        label: 'stowage (@stowage/local)',
        put: (key, body) => store.write(key, body),
        get: (key) => store.readBytes(key),
        writeFrom: (key, source) => store.write(key, createReadStream(source, { highWaterMark: MiB })),
        readAll: async (key) => drain(await store.read(key)),
        close: () => store.close(),
      };
    }
    case 'node:fs': {
      const path = (key: string): string => join(root, key);
      return {
        label: 'node:fs (writeFile, readFile, stream.pipeline)',
        put: async (key, body) => {
          await mkdir(dirname(path(key)), { recursive: true });
          await writeFile(path(key), body);
        },
        get: (key) => readFile(path(key)),
        writeFrom: async (key, source) => {
          await mkdir(dirname(path(key)), { recursive: true });
          await pipeline(createReadStream(source, { highWaterMark: MiB }), createWriteStream(path(key), { highWaterMark: MiB }));
        },
        readAll: (key) => drain(createReadStream(path(key), { highWaterMark: MiB })),
      };
    }
    case 'flydrive': {
      const { Disk } = await import('flydrive');
      const { FSDriver } = await import('flydrive/drivers/fs');
      const disk = new Disk(new FSDriver({ location: root, visibility: 'private' }));
      return {
        label: 'flydrive (fs driver)',
        put: (key, body) => disk.put(key, body),
        get: (key) => disk.getBytes(key),
        writeFrom: (key, source) => disk.putStream(key, createReadStream(source, { highWaterMark: MiB })),
        readAll: async (key) => drain(await disk.getStream(key)),
      };
    }
    case 'unstorage': {
      const { createStorage } = await import('unstorage');
      const { default: fsDriver } = await import('unstorage/drivers/fs');
      const storage = createStorage({ driver: fsDriver({ base: root }) });
      return {
        label: 'unstorage (fs driver)',
        put: (key, body) => storage.setItemRaw(key, body),
        get: async (key) => (await storage.getItemRaw(key)) as Uint8Array,
        // No streaming API: the whole file is read into memory and stored (its raw setter takes a buffer).
        writeFrom: async (key, source) => storage.setItemRaw(key, await readFile(source)),
        readAll: async (key) => ((await storage.getItemRaw(key)) as Uint8Array).byteLength,
        close: () => storage.dispose(),
      };
    }
    case 'opendal': {
      const { Operator } = await import('opendal');
      const operator = new Operator('fs', { root });
      return {
        label: 'opendal 0.49.2 (fs service)',
        put: (key, body) => operator.write(key, Buffer.from(body.buffer, body.byteOffset, body.byteLength)),
        get: (key) => operator.read(key),
        writeFrom: async (key, source) => {
          const writer = await operator.writer(key);
          await pipeline(createReadStream(source, { highWaterMark: MiB }), writer.createWriteStream() as Writable);
        },
        // 1 MiB reads: its default of 16 KiB pieces runs at a fraction of the speed.
        readAll: async (key) => drain((await operator.reader(key)).createReadStream({ highWaterMark: MiB }) as Readable),
      };
    }
  }
}

/** Cases that run in a child process of their own, for peak RSS. */
export const childCases = {
  async write(params: Record<string, unknown>): Promise<Record<string, number>> {
    const library = await openLibrary(params.library as LibraryName, String(params.root));
    try {
      const { seconds } = await timed(() => library.writeFrom('big/object.bin', String(params.source)));
      return { 'MiB/s': mibPerSecond(Number(params.size), seconds) };
    } finally {
      await library.close?.();
    }
  },
  async read(params: Record<string, unknown>): Promise<Record<string, number>> {
    const library = await openLibrary(params.library as LibraryName, String(params.root));
    try {
      const { result, seconds } = await timed(() => library.readAll('big/object.bin'));
      if (result !== Number(params.size)) throw new Error(`read ${result} bytes of ${String(params.size)}`);
      return { 'MiB/s': mibPerSecond(result, seconds) };
    } finally {
      await library.close?.();
    }
  },
  async 'copy-file'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const target = join(String(params.root), 'copy.bin');
    await mkdir(String(params.root), { recursive: true });
    const { seconds } = await timed(() => copyFile(String(params.source), target));
    return { 'MiB/s': mibPerSecond(Number(params.size), seconds) };
  },
};

export const suite: BenchSuite = {
  name: 'local',
  description: 'The local-folder adapter against node:fs and the peer libraries (flydrive, unstorage, OpenDAL) on the same filesystem.',
  async run(context) {
    const directory = await mkdtemp(join(tmpdir(), 'stowage-bench-local-'));
    try {
      context.note(`Files in ${tmpdir()} on this machine's filesystem; the page cache is warm (every side reads what was just written).`);
      const libraries = await Promise.all(LIBRARIES.map((name) => openLibrary(name, join(directory, 'small', name))));
      try {
        const table = context.table('Put and get through each library', ['case', 'unit', ...libraries.map((library) => library.label), ...libraries.slice(1).map((library) => `stowage ÷ ${library.label.split(' ')[0]}`)]);
        for (const size of [KiB, context.profile.size(64 * MiB, 2 * MiB)]) {
          const body = bytes(size);
          const key = `bench/${size}.bin`;
          for (const library of libraries) await library.put(key, body);
          const unit = size === KiB ? ('ops/s' as const) : ('MiB/s' as const);
          const sides = (operation: 'put' | 'get'): Side[] =>
            libraries.map((library) => ({
              label: library.label,
              run: operation === 'put' ? () => library.put(key, body) : async () => void (await library.get(key)),
            }));
          context.log(`put/get ${formatSize(size)}`);
          addComparisonRows(table, context, await compare({ name: `put ${formatSize(size)}`, unit, bytes: size, sides: sides('put') }, context.profile));
          addComparisonRows(table, context, await compare({ name: `get ${formatSize(size)}`, unit, bytes: size, sides: sides('get') }, context.profile));
        }
        table.notes.push(
          'A stowage put is atomic (a temporary file renamed into place under a per-key lock, with its metadata and SHA-256 beside it); node:fs writeFile overwrites in place. Every library ran in the same process, in an order that rotates from round to round.',
        );
      } finally {
        for (const library of libraries) await library.close?.();
      }

      const size = context.profile.size(1024 * MiB, 16 * MiB);
      const source = join(directory, 'source.bin');
      await pipeline(Readable.from(pieces(size)), createWriteStream(source));
      context.log(`streamed copy of ${formatSize(size)}`);
      const sides: ChildSide[] = LIBRARIES.map((name) => {
        const root = join(directory, 'big', name);
        const params = { library: name, root, source, size };
        return { label: name, steps: [{ name: 'write', params }, { name: 'read', params }], cleanup: () => rm(root, { recursive: true, force: true }) };
      });
      const copyRoot = join(directory, 'copy');
      sides.push({ label: 'fs.copyFile', steps: [{ name: 'copy-file', params: { root: copyRoot, source, size } }], cleanup: () => rm(copyRoot, { recursive: true, force: true }) });
      const result = await compareInChildren('local', sides, context.profile, context.log);
      const table = context.table(`Streamed copy of ${formatSize(size)}: a file into the store, then read back`, ['library', 'write MiB/s', 'read MiB/s', 'peak RSS write', 'peak RSS read', 'stowage ÷ this (write / read)']);
      const figure = (index: number, step: number): number | undefined => median(result.sides[index]?.steps[step]?.metrics['MiB/s'] ?? []);
      for (const [index, side] of result.sides.entries()) {
        const [write, read] = side.steps;
        for (const step of side.steps) {
          context.record({ case: `streamed ${formatSize(size)} ${step.name}`, side: side.label, metric: 'MiB/s', unit: 'MiB/s', median: median(step.metrics['MiB/s'] ?? []), samples: step.metrics['MiB/s'] ?? [] });
          context.record({ case: `streamed ${formatSize(size)} ${step.name}`, side: side.label, metric: 'peak RSS', unit: 'MiB', median: Math.max(...step.peakRssMiB), samples: step.peakRssMiB });
        }
        const rss = (step: typeof write): string => (step ? `${Math.round(Math.max(...step.peakRssMiB))} MiB` : '—');
        const ratio = index === 0 ? '—' : `${formatRatio(figure(0, 0), figure(index, 0))} / ${read ? formatRatio(figure(0, 1), figure(index, 1)) : '—'}`;
        table.rows.push([side.label, formatNumber(figure(index, 0)), read ? formatNumber(figure(index, 1)) : '—', rss(write), rss(read), ratio]);
      }
      table.notes.push(
        'Each side runs in a child process of its own (peak RSS includes Node\'s own 50–60 MiB), reading its source with 1 MiB buffers; the sides alternate over the repetitions. unstorage has no streaming API: it reads the whole file into memory, and reads back the whole object. OpenDAL reads in 1 MiB pieces (its default, 16 KiB, is several times slower).',
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  },
};
