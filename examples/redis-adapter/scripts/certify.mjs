/**
 * Certifies this adapter on a real Redis with `stowage-conformance`, as any adapter author would:
 *
 *   npm run build && npm run certify [-- --out DIR]
 *
 * The Redis comes from scripts/redis-server.mjs (`STOWAGE_TEST_REDIS_URL`, else a `redis-server`
 * started here). The run works under a key prefix of its own; afterwards every key left under it
 * must be one that expires by itself (the chunks of replaced objects, kept for the read grace
 * period): a key that would stay for ever is a leak, and fails the certification. Then they are all
 * removed. The reports (conformance-report.json and .md) land in DIR (default stowage-report).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keysUnder, randomKeyPrefix, resolveRedis } from './redis-server.mjs';

// The chunk size of the certified configuration: small enough that the suite's bodies span many
// chunks (its 20 MiB body is 80 of them), and passed to the suite so that it tests that boundary.
const CHUNK_SIZE = 256 * 1024;

const { values } = parseArgs({ options: { out: { type: 'string', default: 'stowage-report' } } });

const redis = await resolveRedis();
if ('skip' in redis) {
  console.log(`stowage-redis-example: certification skipped: ${redis.skip}`);
  process.exit(0);
}

const keyPrefix = randomKeyPrefix('certify');
// The options go through a file, so that a URL with a password never shows in a process listing.
const folder = mkdtempSync(join(tmpdir(), 'stowage-redis-certify-'));
let status = 1;
try {
  const optionsFile = join(folder, 'options.json');
  writeFileSync(optionsFile, JSON.stringify({ url: redis.url, keyPrefix, chunkSize: CHUNK_SIZE }), { mode: 0o600 });
  const run = spawnSync(
    'stowage-conformance',
    ['--module', './dist/index.js', '--options-file', optionsFile, '--chunk-size', String(CHUNK_SIZE), '--name', `redis (Redis ${redis.version}, ioredis)`, '--out', values.out],
    { stdio: 'inherit', shell: false, env: { ...process.env, PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH}` } },
  );
  status = run.status ?? 1;
  if (run.error) throw run.error;

  const left = await keysUnder(redis.url, keyPrefix, { remove: true });
  const forever = [...left].filter(([, ttl]) => ttl < 0).map(([key]) => key);
  console.log(`stowage-redis-example: ${left.size} keys left under the run's prefix, ${left.size - forever.length} of them expiring by themselves`);
  if (forever.length > 0) {
    console.error(`stowage-redis-example: ${forever.length} keys would stay for ever (a leak): ${forever.slice(0, 5).join(', ')}`);
    status = 1;
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
  await redis.stop();
}
process.exitCode = status;
