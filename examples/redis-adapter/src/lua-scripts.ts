/**
 * The Lua scripts that make each change of the store one atomic step inside Redis: a commit checks
 * the write's condition, publishes the staged chunks and replaces the object in one go, so that of
 * N concurrent writers exactly one wins, and a reader sees the old object or the new one.
 *
 * Key layout below the store's prefix `P`:
 * - `P index`: a sorted set of every object key, all with score 0, so that Redis orders them by
 *   their bytes (memcmp), which for UTF-8 is exactly stowage's listing order;
 * - `P o:<key>`: a hash per object: `v` (version), `n` (chunk count), `size`, `cs` (chunk size),
 *   `ct` (content type), `meta` (user metadata as JSON), `sha` (SHA-256), `t` (modified, ms);
 * - `P c:<version>:<n>`: the object's bytes in chunks. Chunks belong to a version, not to a key, so
 *   that a move renames one hash and an overwrite never touches the chunks a reader is streaming:
 *   replaced and deleted chunks get a time to live (the read grace period) instead of vanishing.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A script run by its SHA-1, loaded again when the server has lost it (a restart, `SCRIPT FLUSH`). */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script with `keys` and `args`; the reply is whatever the script returns. */
  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return client.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/** The fields of an object's hash, in the order the backend reads them. */
export const OBJECT_FIELDS = ['v', 'n', 'size', 'cs', 'ct', 'meta', 'sha', 't'] as const;
const FIELD_LIST = OBJECT_FIELDS.map((field) => `'${field}'`).join(', ');

// The time of the server, in ms, as a string: every writer of a store agrees on one clock.
const NOW = `
local now = redis.call('TIME')
local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
`;

// Gives the chunks of a replaced or deleted version a time to live, so that readers still on it finish.
const RETIRE = `
local function retire(version, count, prefix, grace)
  for i = 0, tonumber(count) - 1 do redis.call('PEXPIRE', prefix .. version .. ':' .. i, grace) end
end
`;

/**
 * Commits a staged write. KEYS: object hash, index. ARGV: key, version, chunk count, size, chunk
 * size, content type, metadata JSON, sha256, condition (`''`, `'*'` or the etag to match), chunk
 * prefix, grace period in ms. Returns `{'ok', ms}`, `{'exists'}`, `{'mismatch'}` or `{'lost', n}`
 * (a staged chunk expired before the commit).
 */
export const COMMIT = new LuaScript(`${RETIRE}
local current = redis.call('HMGET', KEYS[1], 'v', 'n')
local condition = ARGV[9]
if condition == '*' and current[1] then return {'exists'} end
if condition ~= '' and condition ~= '*' and (not current[1] or ('"' .. current[1] .. '"') ~= condition) then return {'mismatch'} end
local count = tonumber(ARGV[3])
for i = 0, count - 1 do
  if redis.call('EXISTS', ARGV[10] .. ARGV[2] .. ':' .. i) == 0 then return {'lost', tostring(i)} end
end
for i = 0, count - 1 do redis.call('PERSIST', ARGV[10] .. ARGV[2] .. ':' .. i) end
if current[1] then retire(current[1], current[2], ARGV[10], ARGV[11]) end
${NOW}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'n', ARGV[3], 'size', ARGV[4], 'cs', ARGV[5], 'ct', ARGV[6], 'meta', ARGV[7], 'sha', ARGV[8], 't', ms)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {'ok', ms}
`);

/**
 * Deletes objects. KEYS: the object hashes, then the index. ARGV: the keys (same order), then the
 * chunk prefix and the grace period in ms. Missing keys are ignored.
 */
export const DELETE = new LuaScript(`${RETIRE}
local count = #KEYS - 1
local prefix, grace = ARGV[count + 1], ARGV[count + 2]
for k = 1, count do
  local current = redis.call('HMGET', KEYS[k], 'v', 'n')
  if current[1] then
    retire(current[1], current[2], prefix, grace)
    redis.call('DEL', KEYS[k])
  end
  redis.call('ZREM', KEYS[count + 1], ARGV[k])
end
return count
`);

/**
 * Copies an object into a new version at the destination. KEYS: source hash, destination hash,
 * index. ARGV: destination key, new version, create-only (`'1'` or `''`), chunk prefix, grace period
 * in ms. Returns `{'ok', fields}` (the destination's {@link OBJECT_FIELDS}), `{'missing'}`,
 * `{'exists'}` or `{'lost', n}`.
 */
export const COPY = new LuaScript(`${RETIRE}
local source = redis.call('HGETALL', KEYS[1])
if #source == 0 then return {'missing'} end
local from = {}
for i = 1, #source, 2 do from[source[i]] = source[i + 1] end
local current = redis.call('HMGET', KEYS[2], 'v', 'n')
if ARGV[3] == '1' and current[1] then return {'exists'} end
local count = tonumber(from.n)
for i = 0, count - 1 do
  if redis.call('EXISTS', ARGV[4] .. from.v .. ':' .. i) == 0 then return {'lost', tostring(i)} end
end
for i = 0, count - 1 do redis.call('COPY', ARGV[4] .. from.v .. ':' .. i, ARGV[4] .. ARGV[2] .. ':' .. i, 'REPLACE') end
if current[1] then retire(current[1], current[2], ARGV[4], ARGV[5]) end
${NOW}
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'v', ARGV[2], 'n', from.n, 'size', from.size, 'cs', from.cs, 'ct', from.ct, 'meta', from.meta, 'sha', from.sha, 't', ms)
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return {'ok', redis.call('HMGET', KEYS[2], ${FIELD_LIST})}
`);

/**
 * Moves an object: one rename of its hash, its chunks untouched. KEYS: source hash, destination
 * hash, index. ARGV: source key, destination key, create-only (`'1'` or `''`), chunk prefix, grace
 * period in ms. Returns `{'ok', fields}` (the destination's {@link OBJECT_FIELDS}), `{'missing'}` or
 * `{'exists'}`.
 */
export const MOVE = new LuaScript(`${RETIRE}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local current = redis.call('HMGET', KEYS[2], 'v', 'n')
if ARGV[3] == '1' and current[1] then return {'exists'} end
if current[1] then retire(current[1], current[2], ARGV[4], ARGV[5]) end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return {'ok', redis.call('HMGET', KEYS[2], ${FIELD_LIST})}
`);

/**
 * One page of a listing. KEYS: index. ARGV: prefix, the exclusive or inclusive lower bound (`(key`,
 * `[key` or `''` for the prefix itself), limit, delimiter (`'/'` or `''`), object hash prefix.
 * Returns `{entries, more}`: entries are `{'i', key, size, t, version}` or `{'p', folder}`, in order;
 * `more` is 1 when entries remain after the page. With the delimiter, a whole folder is skipped with
 * one range jump: every key below `x/` sorts before `x0` (`0` follows `/`).
 */
export const LIST = new LuaScript(`
local prefix, bound, limit, delimiter, objects = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local min = bound
if min == '' then min = '[' .. prefix end
-- No UTF-8 key contains the byte 0xFF, so every key that starts with the prefix sorts below this.
local max = '(' .. prefix .. '\\255'
local entries = {}
while #entries < limit do
  local batch = redis.call('ZRANGE', KEYS[1], min, max, 'BYLEX', 'LIMIT', 0, limit - #entries)
  if #batch == 0 then break end
  for _, key in ipairs(batch) do
    local rest = string.sub(key, #prefix + 1)
    local slash = nil
    if delimiter ~= '' then slash = string.find(rest, '/', 1, true) end
    if slash then
      local folder = prefix .. string.sub(rest, 1, slash)
      entries[#entries + 1] = {'p', folder}
      min = '[' .. string.sub(folder, 1, -2) .. '0'
      break
    end
    local fields = redis.call('HMGET', objects .. key, 'size', 't', 'v')
    entries[#entries + 1] = {'i', key, fields[1], fields[2], fields[3]}
    min = '(' .. key
    if #entries == limit then break end
  end
end
local more = 0
if #entries == limit and #redis.call('ZRANGE', KEYS[1], min, max, 'BYLEX', 'LIMIT', 0, 1) > 0 then more = 1 end
return {entries, more}
`);
