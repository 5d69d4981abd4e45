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
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mibPerSecond, pieces, timed } from '../bodies.ts';
import { MiB, type BenchSuite } from '../harness.ts';
import { FS_LIBRARIES, libraryChildCases, openLibrary } from '../libraries.ts';
import { putGetTable, streamedTable } from '../peers.ts';

/** Cases that run in a child process of their own, for peak RSS. */
export const childCases = {
  ...libraryChildCases,
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
      const libraries = await Promise.all(FS_LIBRARIES.map((name) => openLibrary(name, { kind: 'fs', root: join(directory, 'small', name) })));
      try {
        await putGetTable(
          context,
          'Put and get through each library',
          libraries,
          context.profile.size(64 * MiB, 2 * MiB),
          'A stowage put is atomic (a temporary file renamed into place under a per-key lock, with its metadata and SHA-256 beside it); node:fs writeFile overwrites in place, and a reader can see a partial file.',
        );
      } finally {
        for (const library of libraries) await library.close?.();
      }
      const size = context.profile.size(1024 * MiB, 16 * MiB);
      const source = join(directory, 'source.bin');
      await pipeline(Readable.from(pieces(size)), createWriteStream(source));
      const copyRoot = join(directory, 'copy');
      await streamedTable(
        context,
        'local',
        FS_LIBRARIES.map((name) => {
          const root = join(directory, 'big', name);
          return { name, place: { kind: 'fs', root }, cleanup: () => rm(root, { recursive: true, force: true }) };
        }),
        source,
        size,
        [{ label: 'fs.copyFile', steps: [{ name: 'copy-file', params: { root: copyRoot, source, size } }], cleanup: () => rm(copyRoot, { recursive: true, force: true }) }],
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  },
};
