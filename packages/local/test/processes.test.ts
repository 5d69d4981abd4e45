/**
 * The contract across processes on the local filesystem, through the kit's cross-process checks:
 * 20 Node processes, each with its own `LocalBackend` on one root, race create-only and
 * compare-and-swap writes on one key (exactly one wins) and increment one counter (no update lost);
 * writers SIGKILLed during a 20 MiB overwrite leave the old or the new file, and after the next
 * open and write no temporary file, lock file or sweepable leftover.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeProcesses } from '@stowage/conformance/processes';

describeProcesses({
  name: 'local',
  fixture: async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-local-processes-'));
    return {
      child: { url: pathToFileURL(root).href },
      // What a write keeps in the internal folder while it runs: nothing may stay once it is over.
      leftovers: async () => [
        ...(await readdir(join(root, '.stowage', 'tmp')).catch(() => [])).map((name) => `temporary-file: ${name}`),
        ...(await readdir(join(root, '.stowage', 'locks')).catch(() => [])).map((name) => `lock: ${name}`),
      ],
      teardown: () => rm(root, { recursive: true, force: true }),
    };
  },
});
