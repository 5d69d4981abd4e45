/**
 * `Attachments`: the stores and slots of an application, and the uploads that go through them.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  DEFAULT_CONTENT_TYPE,
  InvalidArgumentError,
  AlreadyExistsError,
  MAX_METADATA_BYTES,
  TooLargeError,
  byteCount,
  inferContentType,
  toSource,
  validateContentType,
  type Body,
  type ObjectInfo,
  type OperationOptions,
  type Store,
  type StoredObject,
  type WriteOptions,
} from '@stowage/core';
import { collectGarbage, type CollectOptions, type CollectReport } from './collector.ts';
import { SNIFF_BYTES, contentTypeMatches, essence, judgeContentType, peek } from './content-types.ts';
import { ContentTypeNotAllowedError } from './errors.ts';
import { checkExtra, parseAttachment, type Attachment, type JsonValue } from './reference.ts';
import { assertDisjoint, contentKey, entityKey, incomingKey, resolveSlot, type EntityRef, type ResolvedSlot, type SlotPolicy } from './slots.ts';
import { UnitOfWork } from './unit-of-work.ts';

/** Options of an upload. */
export interface UploadOptions extends OperationOptions {
  /** The row the file belongs to; required by slots with per-entity keys. */
  entity?: EntityRef | undefined;
  /** The uploader's file name (default: a `File`'s `name`), kept in the reference. */
  filename?: string | null | undefined;
  /**
   * The declared type (default: a `Blob`'s `type`, else inferred from the file name, else
   * `text/plain; charset=utf-8` for a string and `application/octet-stream` otherwise, which lets
   * a sniffing slot go by the first bytes).
   */
  contentType?: string | undefined;
  /** The exact size of a streamed body, when known: checked against the slot's `maxSize` before anything is read. */
  size?: number | undefined;
  /** Free fields for the reference. */
  extra?: { [key: string]: JsonValue } | undefined;
}

/** Options of {@link Attachments}. */
export interface AttachmentsOptions {
  /** The stores by name, for example `(await openStores(config)).stores`. Never closed here. */
  stores: Readonly<Record<string, Store>> | ReadonlyMap<string, Store>;
  /** The slots by name. */
  slots: Readonly<Record<string, SlotPolicy>>;
  /**
   * Called when a blob that should be deleted after a commit or rollback could not be (the store
   * was unreachable, say). The blob is then an orphan that the garbage collector removes later;
   * the unit of work itself never throws for it, because the database outcome already stands.
   */
  onCleanupError?: ((error: unknown, reference: Attachment) => void) | undefined;
}

/** One blob deletion that failed, in a {@link CleanupReport}. */
export interface CleanupFailure {
  reference: Attachment;
  error: unknown;
}

/** What a unit of work deleted when it finished. */
export interface CleanupReport {
  /** Blobs deleted. */
  deleted: number;
  /** Blobs of content-addressed slots left for the garbage collector (other rows may share them). */
  deferred: number;
  /** Deletions that failed; those blobs are orphans for the garbage collector. */
  failed: CleanupFailure[];
}

function isFile(body: unknown): body is File {
  return typeof File !== 'undefined' && body instanceof File;
}

/**
 * The application's attachment slots over its stores.
 *
 * @example
 * ```ts
 * const attachments = new Attachments({
 *   stores: { files: store },
 *   slots: {
 *     avatars: { store: 'files', maxSize: 2 * 1024 * 1024, allowedTypes: ['image/png', 'image/jpeg', 'image/webp'] },
 *     documents: { store: 'files', keys: 'sha256', maxSize: 20 * 1024 * 1024, allowedTypes: ['application/pdf', 'text/*'] },
 *   },
 * })
 * const files = attachments.begin()
 * const avatar = await files.upload('avatars', file, { entity: { model: 'users', id: 42, field: 'avatar' } })
 * ```
 */
export class Attachments {
  readonly #stores: ReadonlyMap<string, Store>;
  readonly #slots: ReadonlyMap<string, ResolvedSlot>;
  /** The `onCleanupError` option (called by units of work). */
  readonly onCleanupError: ((error: unknown, reference: Attachment) => void) | undefined;

  constructor(options: AttachmentsOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('Attachments needs { stores, slots }');
    const stores = options.stores instanceof Map ? new Map(options.stores) : new Map(Object.entries(options.stores ?? {}));
    for (const [name, store] of stores) {
      if (typeof store?.write !== 'function') throw new InvalidArgumentError(`store '${name}' is not a Store`);
    }
    const names = new Set(stores.keys());
    const slots = new Map<string, ResolvedSlot>();
    for (const [name, policy] of Object.entries(options.slots ?? {})) slots.set(name, resolveSlot(name, policy, names));
    if (slots.size === 0) throw new InvalidArgumentError('Attachments needs at least one slot');
    assertDisjoint([...slots.values()]);
    this.#stores = stores;
    this.#slots = slots;
    this.onCleanupError = options.onCleanupError;
  }

  /**
   * Checks that a reference belongs to its slot (the slot exists, and the key lies in its store
   * under its prefix) before anything deletes its blob: a reference forged or copied from another
   * slot must never delete what is not its slot's. `InvalidArgumentError` otherwise.
   */
  assertOwned(reference: Attachment): ResolvedSlot {
    const slot = this.slot(reference.slot);
    if (reference.store !== slot.store || !reference.key.startsWith(slot.prefix)) {
      throw new InvalidArgumentError(`the reference to ${JSON.stringify(reference.key)} in store '${reference.store}' does not lie in slot '${slot.name}' (store '${slot.store}', prefix ${JSON.stringify(slot.prefix)})`);
    }
    return slot;
  }

  /** A slot's policy with its defaults; `InvalidArgumentError` for an unknown slot. */
  slot(name: string): ResolvedSlot {
    const slot = this.#slots.get(name);
    if (!slot) throw new InvalidArgumentError(`unknown attachment slot ${JSON.stringify(name)} (known: ${[...this.#slots.keys()].join(', ')})`);
    return slot;
  }

  /** Every slot's policy. */
  slots(): ResolvedSlot[] {
    return [...this.#slots.values()];
  }

  /** A store by name; `InvalidArgumentError` for an unknown one. */
  store(name: string): Store {
    const store = this.#stores.get(name);
    if (!store) throw new InvalidArgumentError(`unknown store ${JSON.stringify(name)} (known: ${[...this.#stores.keys()].join(', ')})`);
    return store;
  }

  /** Starts a unit of work: uploads and detached references that commit or roll back with one database transaction. */
  begin(): UnitOfWork {
    return new UnitOfWork(this);
  }

  /** Opens the file a reference points at: its metadata and a stream of its bytes. */
  async open(reference: Attachment, options: OperationOptions = {}): Promise<StoredObject> {
    const checked = parseAttachment(reference);
    return this.store(checked.store).get(checked.key, options);
  }

  /** A stream of the bytes of the file a reference points at. */
  async read(reference: Attachment, options: OperationOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return (await this.open(reference, options)).body;
  }

  /** Whether the file a reference points at exists. */
  async exists(reference: Attachment, options: OperationOptions = {}): Promise<boolean> {
    const checked = parseAttachment(reference);
    return this.store(checked.store).exists(checked.key, options);
  }

  /**
   * Stores a file through a slot's policy, outside any unit of work: until a committed row refers
   * to it, it is an orphan the garbage collector may remove once it is older than the grace period.
   * Prefer {@link UnitOfWork.upload}, which also deletes it when the transaction rolls back.
   *
   * Refused before anything is stored: a declared type the slot does not allow, a declared size
   * over `maxSize` (`TOO_LARGE`), first bytes that contradict the declared type or show a type the
   * slot does not allow; and while streaming, as soon as the body crosses `maxSize` (`TOO_LARGE`).
   */
  async upload(slotName: string, body: Body, options: UploadOptions = {}): Promise<Attachment> {
    const slot = this.slot(slotName);
    const store = this.store(slot.store);
    const filename = options.filename !== undefined ? options.filename : isFile(body) && body.name !== '' ? body.name : null;
    if (filename !== null && typeof filename !== 'string') throw new InvalidArgumentError('filename must be a string or null');
    const blobType = typeof Blob !== 'undefined' && body instanceof Blob && body.type !== '' ? body.type : undefined;
    const fallback = typeof body === 'string' ? 'text/plain; charset=utf-8' : DEFAULT_CONTENT_TYPE;
    const declared = validateContentType(options.contentType ?? blobType ?? (filename ? inferContentType(filename) : fallback));
    const extra = options.extra === undefined ? undefined : checkExtra(options.extra);
    if (slot.keys === 'entity' && (typeof options.entity !== 'object' || options.entity === null)) entityKey(slot, options.entity, filename, declared);
    // application/octet-stream says "unknown": when the slot sniffs, the first bytes decide instead.
    const unknown = essence(declared) === DEFAULT_CONTENT_TYPE;
    if (!(unknown && slot.sniff)) this.#checkType(slot, declared, `the declared type ${declared}`);
    const source = toSource(body);
    const size = source.size ?? options.size;
    if (slot.maxSize !== undefined && size !== undefined && size > slot.maxSize) {
      throw new TooLargeError(slot.maxSize, `the upload is ${byteCount(size)}; slot '${slot.name}' accepts at most ${byteCount(slot.maxSize)}`, { backend: store.backendName });
    }

    let chunks = source.chunks;
    let contentType = declared;
    if (slot.sniff) {
      const peeked = await peek(chunks, SNIFF_BYTES);
      try {
        const verdict = judgeContentType(declared, peeked.head);
        if (verdict.kind === 'mismatch') {
          throw new ContentTypeNotAllowedError(declared, slot.allowedTypes ?? ['*'], `slot '${slot.name}' refused the upload: it is declared as ${declared}, but its first bytes are not`);
        }
        if (verdict.kind === 'sniffed') {
          contentType = verdict.type;
          this.#checkType(slot, contentType, `a file whose first bytes show ${contentType} (declared: ${declared})`);
        } else if (unknown) {
          this.#checkType(slot, declared, `a file of unknown type (declared as ${declared}, and its first bytes match no known signature)`);
        }
      } catch (error) {
        await peeked.close();
        throw error;
      }
      chunks = peeked.body;
    }
    const write: WriteOptions = { contentType, maxSize: slot.maxSize, size, signal: options.signal };

    let info: ObjectInfo;
    let sha256: string;
    if (slot.keys === 'entity') {
      const { key, given } = entityKey(slot, options.entity, filename, contentType);
      // The uploader's name is the object's download name (`?download` through @stowage/http); a
      // content-addressed object may belong to several rows, so it carries none.
      if (filename !== null && store.capabilities.userMetadata && filename.isWellFormed() && new TextEncoder().encode(filename).length <= MAX_METADATA_BYTES / 2) {
        write.metadata = { filename };
      }
      if (given && !store.capabilities.conditionalWrite && (await store.exists(key, options))) {
        throw new AlreadyExistsError(`slot '${slot.name}': ${JSON.stringify(key)} exists already; a given file name must be unique`, { key, backend: store.backendName });
      }
      info = await store.write(key, chunks, given && store.capabilities.conditionalWrite ? { ...write, ifNoneMatch: '*' } : write);
      sha256 = info.sha256 ?? (await digestOf(store, key, options.signal));
    } else {
      // The key is the digest, known only at the end: stream to a fresh key under the slot, then
      // move it into place. A failure on the way leaves at worst the incoming object, which no row
      // refers to and the collector removes once it is older than the grace period.
      const incoming = incomingKey(slot);
      const written = await store.write(incoming, chunks, write);
      try {
        sha256 = written.sha256 ?? (await digestOf(store, incoming, options.signal));
        // Always moved, also when the content is there already: the move refreshes the object's
        // modification time, so the collector's grace period covers this upload too.
        info = await store.move(incoming, contentKey(slot, sha256), { signal: options.signal });
      } catch (error) {
        await store.delete(incoming).catch(() => undefined);
        throw error;
      }
    }
    const reference: Attachment = {
      slot: slot.name,
      store: slot.store,
      key: info.key,
      size: info.size,
      contentType,
      etag: info.etag,
      sha256,
      filename,
      createdAt: new Date().toISOString(),
    };
    if (extra !== undefined) reference.extra = extra;
    return reference;
  }

  #checkType(slot: ResolvedSlot, contentType: string, what: string): void {
    if (slot.allowedTypes !== undefined && !contentTypeMatches(contentType, slot.allowedTypes)) {
      throw new ContentTypeNotAllowedError(contentType, slot.allowedTypes, `slot '${slot.name}' accepts ${slot.allowedTypes.join(', ')}, not ${what}`);
    }
  }

  /**
   * Finds (and unless `dryRun`, deletes) the slot's orphans: objects under its prefix that none of
   * `live` refers to and that are older than the grace period.
   */
  async collect(slotName: string, options: CollectOptions): Promise<CollectReport> {
    const slot = this.slot(slotName);
    return collectGarbage(slot, this.store(slot.store), options);
  }
}

/** The digest of a stored object, for the rare backend that does not return it from a write. */
async function digestOf(store: Store, key: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash('sha256');
  const body = await store.read(key, { signal });
  for await (const chunk of body) hash.update(chunk);
  return hash.digest('hex');
}
