/**
 * Slots: the named policies uploads go through (`avatars`, `documents`, ...): which store, under
 * which key prefix, how keys are made, how large and of which types files may be.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, extensionOf, keyProblem } from '@stowage/core';

/** The entity a per-entity key belongs to: `{prefix}/{model}/{id}/{field}/{file}`. */
export interface EntityRef {
  /** The model or table, such as `'users'`. */
  model: string;
  /** The row's id. Numbers are written in decimal. */
  id: string | number | bigint;
  /** The column or field, such as `'avatar'`. */
  field: string;
}

/** What a slot's `fileName` function is given. */
export interface FileNameContext {
  /** The slot's name. */
  slot: string;
  /** The entity of the upload. */
  entity: EntityRef;
  /** The uploader's file name, if any. */
  filename: string | null;
  /** The content type the file will be stored with. */
  contentType: string;
  /** A fresh random id (URL-safe), for names that must stay unique. */
  random: string;
}

/** One slot's policy. */
export interface SlotPolicy {
  /** The name of the store (in the registry given to `Attachments`) that holds this slot's files. */
  store: string;
  /**
   * The key prefix, without a trailing `/` (default: the slot's name). Every object under it
   * belongs to the slot, and the garbage collector treats what no row refers to as an orphan:
   * never share a prefix with other data.
   */
  prefix?: string | undefined;
  /**
   * How keys are made:
   * - `'entity'` (default): `{prefix}/{model}/{id}/{field}/{file}`, where `{file}` is random (plus
   *   the extension of the type the file is stored with, never the uploader's) unless `fileName`
   *   says otherwise. Every upload gets a new key,
   *   so a replaced file stays readable until the new row is committed.
   * - `'sha256'`: `{prefix}/{first two hex digits}/{sha256}`: identical content is stored once.
   *   Since several rows may share an object, the unit of work never deletes these; the garbage
   *   collector does, once no row refers to them.
   */
  keys?: 'entity' | 'sha256' | undefined;
  /**
   * With `keys: 'entity'`: the `{file}` part. `'random'` (default) is a random id plus the extension
   * of the stored content type (`.png` for `image/png`, none for a type without a known one: the
   * uploader's file name never reaches the key, so a server that types files by extension cannot be
   * made to serve `x.html` as HTML); a function returns a name of its own (one key segment). Given names are
   * written create-only where the backend can (`ALREADY_EXISTS` rather than overwriting a committed
   * file): include something unique, such as `context.random`.
   */
  fileName?: 'random' | ((context: FileNameContext) => string) | undefined;
  /** The largest file accepted, in bytes: a larger upload fails with `TOO_LARGE` while streaming and stores nothing. */
  maxSize?: number | undefined;
  /**
   * The accepted content types (`image/png`, `image/*`, `*`). Absent: any type. Checked on the
   * declared type before a byte is read, and, unless `sniff` is `false`, on the type the first bytes
   * show, before anything is stored.
   */
  allowedTypes?: readonly string[] | undefined;
  /** Check the first bytes against the declared type (default `true` when `allowedTypes` is set). */
  sniff?: boolean | undefined;
}

/** A slot's policy with every default applied. */
export interface ResolvedSlot {
  readonly name: string;
  readonly store: string;
  /** The prefix with its trailing `/`: every key of the slot starts with it. */
  readonly prefix: string;
  readonly keys: 'entity' | 'sha256';
  readonly fileName: 'random' | ((context: FileNameContext) => string);
  readonly maxSize: number | undefined;
  readonly allowedTypes: readonly string[] | undefined;
  readonly sniff: boolean;
}

/** Where content-addressed uploads stream before their digest, and so their key, is known. */
export const INCOMING_FOLDER = '.incoming';

/** Checks one slot's policy and fills in the defaults; `InvalidArgumentError` for a bad one. */
export function resolveSlot(name: string, policy: SlotPolicy, stores: ReadonlySet<string>): ResolvedSlot {
  const where = `slot '${name}'`;
  if (typeof policy !== 'object' || policy === null) throw new InvalidArgumentError(`${where} needs a policy object`);
  if (typeof policy.store !== 'string' || !stores.has(policy.store)) {
    throw new InvalidArgumentError(`${where} refers to the store ${JSON.stringify(policy.store)}, which is not among the stores given (${[...stores].join(', ') || 'none'})`);
  }
  const prefix = policy.prefix ?? name;
  const problem = keyProblem(prefix);
  if (problem) throw new InvalidArgumentError(`${where}: the prefix ${JSON.stringify(prefix)} ${problem}`);
  const keys = policy.keys ?? 'entity';
  if (keys !== 'entity' && keys !== 'sha256') throw new InvalidArgumentError(`${where}: keys must be 'entity' or 'sha256', got ${JSON.stringify(keys)}`);
  const fileName = policy.fileName ?? 'random';
  if (fileName !== 'random' && typeof fileName !== 'function') throw new InvalidArgumentError(`${where}: fileName must be 'random' or a function`);
  const maxSize = policy.maxSize;
  if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 0)) throw new InvalidArgumentError(`${where}: maxSize must be a non-negative integer, got ${String(maxSize)}`);
  const allowedTypes = policy.allowedTypes;
  if (allowedTypes !== undefined && (!Array.isArray(allowedTypes) || allowedTypes.some((type) => typeof type !== 'string' || !/^(\*|[\w.+-]+\/(\*|[\w.+-]+))$/.test(type)))) {
    throw new InvalidArgumentError(`${where}: allowedTypes must be a list of "type/subtype", "type/*" or "*"`);
  }
  return Object.freeze({
    name,
    store: policy.store,
    prefix: `${prefix}/`,
    keys,
    fileName,
    maxSize,
    allowedTypes: allowedTypes === undefined ? undefined : Object.freeze([...allowedTypes]),
    sniff: policy.sniff ?? allowedTypes !== undefined,
  });
}

/** Refuses slots on one store whose prefixes nest: the collector would take one's files for the other's orphans. */
export function assertDisjoint(slots: readonly ResolvedSlot[]): void {
  for (const a of slots) {
    for (const b of slots) {
      if (a !== b && a.store === b.store && b.prefix.startsWith(a.prefix)) {
        throw new InvalidArgumentError(`slots '${a.name}' and '${b.name}' share the store '${a.store}' with nested prefixes (${JSON.stringify(a.prefix)}, ${JSON.stringify(b.prefix)}): give each its own prefix`);
      }
    }
  }
}

/** A fresh URL-safe random id (96 bits). */
export function randomId(): string {
  return randomBytes(12).toString('base64url');
}

function segment(value: string, what: string, slot: string): string {
  if (value.includes('/') || keyProblem(value) !== undefined) {
    throw new InvalidArgumentError(`slot '${slot}': the ${what} ${JSON.stringify(value)} cannot be a key segment (${keyProblem(value) ?? 'it contains "/"'})`);
  }
  return value;
}

/** The key of a per-entity upload, and whether it was given (rather than random). */
export function entityKey(slot: ResolvedSlot, entity: EntityRef | undefined, filename: string | null, contentType: string): { key: string; given: boolean } {
  if (typeof entity !== 'object' || entity === null) {
    throw new InvalidArgumentError(`slot '${slot.name}' makes per-entity keys: pass entity: { model, id, field } with the upload`);
  }
  const model = segment(String(entity.model), 'model', slot.name);
  const id = segment(String(entity.id), 'id', slot.name);
  const field = segment(String(entity.field), 'field', slot.name);
  const random = randomId();
  const given = slot.fileName !== 'random';
  const extension = extensionOf(contentType);
  const file = slot.fileName === 'random' ? `${random}${extension && `.${extension}`}` : segment(slot.fileName({ slot: slot.name, entity, filename, contentType, random }), 'file name', slot.name);
  const key = `${slot.prefix}${model}/${id}/${field}/${file}`;
  const problem = keyProblem(key);
  if (problem) throw new InvalidArgumentError(`slot '${slot.name}': the key ${JSON.stringify(key)} ${problem}`);
  return { key, given };
}

/** The key of a content-addressed object. */
export function contentKey(slot: ResolvedSlot, sha256: string): string {
  return `${slot.prefix}${sha256.slice(0, 2)}/${sha256}`;
}

/** A fresh key for a content-addressed upload in flight. */
export function incomingKey(slot: ResolvedSlot): string {
  return `${slot.prefix}${INCOMING_FOLDER}/${randomId()}`;
}
