/**
 * The SQL blob backend: one main row per object, large objects in chunk rows.
 *
 * @module
 */
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PreconditionFailedError,
  SweepTally,
  UnavailableError,
  checkOptions,
  compareUtf8,
  describeValue,
  inferContentType,
  maskUrl,
  resolveRange,
  type AdapterContext,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendSweepOptions,
  type BackendWriteRequest,
  type ByteRange,
  type ListEntry,
  type ListPage,
  type ModuleLoader,
  type ObjectInfo,
  type OperationContext,
  type SweepResult,
} from '@stowage/core';
import type { Connection, Dialect, DialectKind, Snapshot } from './dialect.ts';
import { toBuffer } from './dialect.ts';
import { codeOf, mapDatabaseError } from './sql-errors.ts';
import { optionsFromSqlUrl } from './url.ts';
import {
  derivedEtag,
  fixedChunks,
  formatDigest,
  formatExtra,
  parseDigest,
  parseExtra,
  keyHash,
  parseMetadata,
  prefixSuccessor,
  newVersion,
  randomId,
  versionTime,
  versionWriterGone,
  type ChunkPointer,
  type StowageExtra,
} from './rows.ts';
import type { JournalMode } from './sqlite.ts';


/** What the SQL blob backend's sweep looks for. */
const SQL_BLOB_SWEEP_KINDS = [{ kind: 'chunks', description: 'chunk rows of versions no object points at (a dead writer\'s, or those of rows another program overwrote or deleted)' }] as const;

/** What the SQL blob adapter declares on a table with every column and a chunk table (capabilities are computed at open). */
export const SQL_BLOB_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: boolean;
  readonly userMetadata: boolean;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'atomic';
  readonly signedUrl: false;
  readonly multipart: boolean;
  readonly hierarchical: false;
  readonly maxObjectSize: number | null;
  readonly listOrder: 'utf8';
} = Object.freeze({
  rangeRead: true,
  conditionalWrite: true as boolean,
  userMetadata: true as boolean,
  listDelimiter: true,
  copy: 'native',
  move: 'atomic',
  signedUrl: false,
  multipart: true as boolean,
  hierarchical: false,
  maxObjectSize: null as number | null,
  listOrder: 'utf8',
});

/** The capability type of every SQL blob backend. */
export type SqlBlobCapabilities = typeof SQL_BLOB_CAPABILITIES;

/** Options of {@link SqlBlobBackend.open}. Give exactly one of `url` and `client`. */
export interface SqlBlobOptions {
  /**
   * `sqlite:./file.db`, `sqlite:///abs/file.db`, `sqlite::memory:`, `postgres://user@host/db`
   * (or `postgresql:`), `mysql://user@host/db` (or `mariadb:`). The backend owns and closes the
   * connection or pool it opens.
   */
  url?: string | undefined;
  /**
   * A borrowed driver object, never closed by stowage: a better-sqlite3 `Database`, a pg `Pool`,
   * or a mysql2 promise `Pool` (`mysql2/promise`).
   */
  client?: unknown;
  /** Which database a borrowed `client` talks to, when its shape does not tell. */
  dialect?: DialectKind | undefined;
  /** The main table (default `stowage_objects`); chunks go to `<tableName>_chunks`. Letters, digits and `_`. */
  tableName?: string | undefined;
  /** Create the tables when missing (default true). With false, the tables must exist and their columns decide the capabilities. */
  createTable?: boolean | undefined;
  /** The largest object accepted, in bytes (default: no limit beyond the database's). */
  maxBlobSize?: number | undefined;
  /** Bytes per chunk row (default 1 MiB); objects up to this size are stored inline in `data`. */
  chunkSize?: number | undefined;
  /**
   * Store every object inline in `data`, never in chunk rows (default false), so that every object
   * stays readable by other readers of the table that know only `data` (the Python `remote_store`
   * backend). Objects are then bounded by what one statement carries (`maxObjectSize`, or
   * `maxBlobSize` when smaller): a larger one is refused with `TOO_LARGE` and nothing is stored.
   * Chunked objects written before stay readable.
   */
  inlineOnly?: boolean | undefined;
  /** SQLite only: the journal mode of a database file (default `'wal'`, with `synchronous=NORMAL`). */
  journalMode?: JournalMode | undefined;
  /**
   * Reclaim, without being asked, the chunk rows no object points at (default true): at open and
   * then once every `everyWrites` writes (default 1000) in the background, those of versions
   * older than `olderThanMs` (default one hour) and, at once, those a writer of this host that no
   * longer runs staged (SQLite, where a killed writer leaves its staged chunks; its next write on
   * the same key reclaims them too). `false` leaves it all to {@link SqlBlobBackend.sweep}.
   */
  autoSweep?: boolean | { olderThanMs?: number | undefined; everyWrites?: number | undefined } | undefined;
}

/** What {@link SqlBlobOptions.autoSweep} is, defaults filled in. */
interface AutoSweep {
  olderThanMs: number;
  everyWrites: number;
}

/** The age past which an unreferenced chunk version is reclaimed by the automatic sweep: its writer would have had an hour. */
export const DEFAULT_AUTO_SWEEP_AGE_MS = 3_600_000;
/** How many writes pass between two automatic sweeps. */
export const DEFAULT_AUTO_SWEEP_WRITES = 1000;

function autoSweepOf(option: SqlBlobOptions['autoSweep']): AutoSweep | undefined {
  if (option === false) return undefined;
  const given = option === true || option === undefined ? {} : option;
  const olderThanMs = given.olderThanMs ?? DEFAULT_AUTO_SWEEP_AGE_MS;
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw new InvalidArgumentError(`autoSweep.olderThanMs must be a non-negative number of milliseconds, got ${String(olderThanMs)}`, { backend: 'sql-blob' });
  return { olderThanMs, everyWrites: positiveInteger(given.everyWrites, 'autoSweep.everyWrites') ?? DEFAULT_AUTO_SWEEP_WRITES };
}

/** The default main table name. */
export const DEFAULT_TABLE_NAME = 'stowage_objects';
/** The default chunk size: 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,54}$/;
const READ_SLICE = 64 * 1024;
const DELETE_BATCH = 500;
const EMPTY: Buffer = Buffer.alloc(0);
/** What the `extra` of a row that names chunk rows contains (its chunk version's member), as JSON text of any spacing. */
const CHUNKS_MARK = '"version"';

/** One main row as the backend sees it. */
interface StoredRow {
  key: string;
  size: number;
  modifiedAt: number;
  etag: string;
  contentType: string | null;
  sha256: string | undefined;
  metadata: Record<string, string>;
  chunks: ChunkPointer | undefined;
  /** The chunks `extra` names, trusted or not, with the size they were written for: whoever replaces the row deletes them. */
  recorded: { chunks: ChunkPointer; size: number } | undefined;
  data?: Buffer | undefined;
}

/** What a row's columns and its `extra` fingerprint say about the object, once checked against each other. */
interface CheckedRow {
  size: number;
  etag: string;
  sha256: string | undefined;
  chunks: ChunkPointer | undefined;
  recorded: { chunks: ChunkPointer; size: number } | undefined;
}

/** A row about to be written. */
interface NewObject {
  data: Buffer;
  size: number;
  contentType: string | null;
  metadata: Record<string, string>;
  sha256: string | undefined;
  chunks: ChunkPointer | undefined;
}

interface Conditions {
  ifNoneMatch?: '*' | undefined;
  ifMatch?: string | undefined;
}

function positiveInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`, { backend: 'sql-blob' });
  }
  return value;
}

/** `options` with the parameters of its URL read (and refused when unknown), as `openStore` reads them; options given as such win. */
function withUrlParameters(options: SqlBlobOptions): SqlBlobOptions {
  let url: URL;
  try {
    url = new URL(options.url!);
  } catch (cause) {
    throw new InvalidArgumentError(`not a SQL store URL: ${JSON.stringify(maskUrl(options.url!))}`, { backend: 'sql-blob', cause });
  }
  const fromUrl = optionsFromSqlUrl(url);
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return { ...fromUrl, ...given, url: fromUrl.url };
}

function kindOfUrl(url: string): DialectKind {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3') return 'sqlite';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql';
  throw new InvalidArgumentError(`the sql-blob adapter opens sqlite:, postgres:, postgresql:, mysql: and mariadb: URLs, not ${scheme}:`, { backend: 'sql-blob' });
}

/** The file path of a `sqlite:` URL string: `sqlite:./a.db`, `sqlite:///abs/a.db`, `sqlite::memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.slice(url.indexOf(':') + 1).replace(/[?#].*$/, '');
  if (rest === ':memory:' || rest === '' || rest === '//:memory:') return ':memory:';
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  return decodeURIComponent(path);
}

function kindOfClient(client: unknown): DialectKind {
  const shape = client as Record<string, unknown>;
  if (typeof shape?.prepare === 'function' && typeof shape.pragma === 'function') return 'sqlite';
  if (typeof shape?.getConnection === 'function') return 'mysql';
  if (typeof shape?.connect === 'function' && 'totalCount' in shape) return 'postgres';
  throw new InvalidArgumentError('cannot tell which database the client talks to: pass dialect: "sqlite" | "postgres" | "mysql"', { backend: 'sql-blob' });
}

async function openDialect(options: SqlBlobOptions, load: ModuleLoader | undefined): Promise<Dialect> {
  if (options.url !== undefined) {
    const kind = kindOfUrl(options.url);
    if (kind === 'sqlite') {
      const { SqliteDialect } = await import('./sqlite.ts');
      return SqliteDialect.open(sqlitePath(options.url), options.journalMode ?? 'wal', load);
    }
    if (kind === 'postgres') {
      const { PostgresDialect } = await import('./postgres.ts');
      return PostgresDialect.open(options.url, load);
    }
    const { MysqlDialect } = await import('./mysql.ts');
    return MysqlDialect.open(options.url.replace(/^mariadb:/i, 'mysql:'), load);
  }
  const kind = options.dialect ?? kindOfClient(options.client);
  if (kind === 'sqlite') {
    const { SqliteDialect } = await import('./sqlite.ts');
    return SqliteDialect.borrow(options.client as never, load);
  }
  if (kind === 'postgres') {
    const { PostgresDialect } = await import('./postgres.ts');
    return PostgresDialect.borrow(options.client as never);
  }
  const { MysqlDialect } = await import('./mysql.ts');
  return MysqlDialect.borrow(options.client as never);
}

/**
 * A stowage backend on a SQL table (SQLite, PostgreSQL, MySQL/MariaDB). Open with
 * {@link SqlBlobBackend.open}.
 *
 * Objects up to `chunkSize` live inline in the main row's `data`; larger ones stream into
 * `<table>_chunks` rows under a fresh version id, and the main row is switched to that version in
 * one transaction that also deletes the previous version's chunks, so readers and concurrent
 * writers always see one whole object.
 */
export class SqlBlobBackend implements Backend<SqlBlobCapabilities> {
  readonly name: string;
  readonly capabilities: SqlBlobCapabilities;
  readonly #dialect: Dialect;
  readonly #table: string;
  readonly #tableName: string;
  readonly #chunkTable: string;
  readonly #columns: Set<string>;
  /** Whether new objects larger than a chunk go to chunk rows (false without a chunk table, or with `inlineOnly`). */
  readonly #chunked: boolean;
  /** Whether the chunk table exists (chunks written before `inlineOnly` are still read, deleted and swept). */
  readonly #hasChunkTable: boolean;
  readonly #chunkSize: number;
  readonly #infoSelect: string;
  /** The columns a listing needs: key, size, time and what the etag comes from. */
  readonly #listSelect: string;
  readonly #keyColumn: string;
  /** Set once a `modified_at` value read back equals the one written, so that later writes need not read it back. */
  #timeRoundTrips = false;
  #closed = false;
  readonly #autoSweep: AutoSweep | undefined;
  /** Writes since the last automatic sweep began. */
  #writesSinceSweep = 0;
  /** The automatic sweep in flight, awaited by `close`. */
  #sweeping: Promise<void> | undefined;
  /** What the last automatic sweep failed with, if it did (it is tried again at the next turn). */
  #autoSweepError: Error | undefined;

  private constructor(dialect: Dialect, table: string, columns: Set<string>, chunked: boolean, hasChunkTable: boolean, chunkSize: number, maxBlobSize: number | undefined, autoSweep: AutoSweep | undefined) {
    this.#dialect = dialect;
    this.#autoSweep = hasChunkTable ? autoSweep : undefined;
    this.name = `sql-blob:${dialect.kind}`;
    this.#table = dialect.quote(table);
    this.#tableName = table;
    this.#chunkTable = dialect.quote(`${table}_chunks`);
    this.#columns = columns;
    this.#chunked = chunked;
    this.#hasChunkTable = hasChunkTable;
    this.#chunkSize = chunkSize;
    const q = (column: string): string => dialect.quote(column);
    this.#keyColumn = q('key');
    const optional = (column: string, alias: string, fallback = 'NULL'): string => `${columns.has(column) ? q(column) : fallback} AS ${alias}`;
    const dataLength = `${dialect.lengthOf('data')} AS dl`;
    this.#infoSelect = [
      `${q('key')} AS k`,
      dataLength,
      optional('size', 's', dialect.lengthOf('data')),
      optional('modified_at', 'm', '0'),
      optional('content_type', 'ct'),
      optional('digest', 'd'),
      optional('extra', 'x'),
      optional('user_metadata', 'um'),
    ].join(', ');
    this.#listSelect = [`${q('key')} AS k`, dataLength, optional('size', 's', dialect.lengthOf('data')), optional('modified_at', 'm', '0'), optional('digest', 'd'), optional('extra', 'x')].join(', ');
    const inlineLimit = Math.min(maxBlobSize ?? Number.POSITIVE_INFINITY, dialect.inlineLimit);
    this.capabilities = Object.freeze({
      ...SQL_BLOB_CAPABILITIES,
      // Compare-and-swap needs an etag that changes on every write: kept in `extra`, or derived from time and digest.
      conditionalWrite: columns.has('extra') || (columns.has('modified_at') && columns.has('digest')),
      userMetadata: columns.has('user_metadata'),
      multipart: chunked,
      maxObjectSize: chunked ? (maxBlobSize ?? null) : inlineLimit,
    });
  }

  /**
   * Opens the database (or borrows `client`), creates the tables unless `createTable: false`, and
   * reads which columns exist. The driver is imported from sql-blob's own location, else with
   * `context.load` (the registry passes `openStore`'s loader, so that a driver installed beside the
   * caller, such as the `stowage` command's better-sqlite3, is found too).
   */
  static async open(options: SqlBlobOptions, context?: AdapterContext): Promise<SqlBlobBackend> {
    options = checkOptions(options, 'SqlBlobBackend.open');
    if (options.url !== undefined && typeof options.url !== 'string') throw new InvalidArgumentError(`the url option of the sql-blob adapter must be a string, got ${describeValue(options.url)}`, { backend: 'sql-blob' });
    if (options.url?.includes('?')) options = withUrlParameters(options);
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new InvalidArgumentError('give exactly one of url and client to the sql-blob adapter', { backend: 'sql-blob' });
    }
    const table = options.tableName ?? DEFAULT_TABLE_NAME;
    if (!TABLE_NAME.test(table)) throw new InvalidArgumentError(`tableName must be letters, digits and _ (at most 55), got ${JSON.stringify(table)}`, { backend: 'sql-blob' });
    const chunkSize = positiveInteger(options.chunkSize, 'chunkSize') ?? DEFAULT_CHUNK_SIZE;
    if (chunkSize < 1024) throw new InvalidArgumentError(`chunkSize must be at least 1024 bytes, got ${chunkSize}`, { backend: 'sql-blob' });
    const maxBlobSize = positiveInteger(options.maxBlobSize, 'maxBlobSize');
    const autoSweep = autoSweepOf(options.autoSweep);
    let dialect: Dialect;
    try {
      dialect = await openDialect(options, context?.load);
    } catch (error) {
      throw mapDatabaseError(error, 'sql-blob', 'connecting');
    }
    const backend = `sql-blob:${dialect.kind}`;
    try {
      if (chunkSize > dialect.inlineLimit) throw new InvalidArgumentError(`chunkSize ${chunkSize} exceeds what one statement carries here (${dialect.inlineLimit})`, { backend });
      if (options.createTable !== false) {
        for (const statement of dialect.createStatements(table, `${table}_chunks`)) {
          // PostgreSQL's IF NOT EXISTS loses a race with another opener creating the same table (a
          // unique violation on its catalog): once the winner has it, the statement is a no-op.
          await dialect.query(statement).catch(() => dialect.query(statement));
        }
      }
      const columns = await dialect.columns(table);
      if (!columns) throw new InvalidArgumentError(`the table ${table} does not exist (createTable is false)`, { backend });
      if (!columns.has('key') || !columns.has('data')) throw new InvalidArgumentError(`the table ${table} needs at least the columns key and data`, { backend });
      // Keys are byte-exact and list in byte order: a collation that merges keys is refused, never worked around.
      const problem = await dialect.keyColumnProblem(table);
      if (problem) throw new InvalidArgumentError(`the table ${table} cannot keep keys byte-exact: ${problem}`, { backend });
      const chunkColumns = await dialect.columns(`${table}_chunks`);
      const hasChunkTable = columns.has('extra') && ['key', 'version', 'seq', 'data'].every((column) => chunkColumns?.has(column) === true);
      const opened = new SqlBlobBackend(dialect, table, columns, hasChunkTable && options.inlineOnly !== true, hasChunkTable, chunkSize, maxBlobSize, autoSweep);
      // SQLite: what a killed writer staged is gone before the first operation. A server's dead
      // writer left nothing (its transaction rolled back): its pass runs in the background.
      const first = opened.#startAutoSweep();
      if (dialect.stagesChunks) await first;
      return opened;
    } catch (error) {
      await dialect.close().catch(() => undefined);
      throw mapDatabaseError(error, backend, 'opening the table');
    }
  }

  /** WHERE clauses (with their parameters) that select every chunk row of one stored version. */
  #chunkRows(key: string, chunks: ChunkPointer, size: number): [string, unknown[]][] {
    const where = `${this.#keyColumn} = ? AND version = ?`;
    const keyParameter = this.#dialect.keyParameter(key);
    if (!this.#dialect.pointChunkAccess) return [[where, [keyParameter, chunks.version]]];
    // One statement per chunk: a full primary key is a unique lookup that never scans a neighbour.
    const count = Math.ceil(size / chunks.chunkSize);
    const batches: [string, unknown[]][] = [];
    for (let seq = 0; seq < count; seq++) batches.push([`${where} AND seq = ?`, [keyParameter, chunks.version, seq]]);
    return batches;
  }

  async #deleteChunks(connection: Connection, key: string, chunks: ChunkPointer, size: number): Promise<void> {
    for (const [where, parameters] of this.#chunkRows(key, chunks, size)) await connection.query(`DELETE FROM ${this.#chunkTable} WHERE ${where}`, parameters);
  }

  #fail(error: unknown, doing: string, key?: string, signal?: AbortSignal): Error {
    return mapDatabaseError(error, this.name, doing, key, signal);
  }

  /**
   * Checks what `extra` records against the row's own columns. The fingerprint stowage wrote (size,
   * `modified_at`, key, and an empty `data` for chunked objects) must match, else another writer
   * changed the row: its `data` is then the object, with an etag derived from the row and no digest.
   * Rows from before fingerprints keep their chunks while `data` is empty, with a derived etag.
   */
  #check(key: string, row: Record<string, unknown>, modifiedAt: number): CheckedRow {
    const columnSize = Number(row.s ?? 0);
    const dataLength = Number(row.dl ?? 0);
    const extra = parseExtra(row.x);
    const pointer = extra?.version !== undefined && extra.chunkSize !== undefined ? { version: extra.version, chunkSize: extra.chunkSize } : undefined;
    const recorded = pointer ? { chunks: pointer, size: extra?.size ?? columnSize } : undefined;
    const derived = derivedEtag(columnSize, modifiedAt, dataLength, row.d, row.x);
    if (extra && this.#vouches(extra, key, columnSize, modifiedAt, dataLength, pointer !== undefined)) {
      return { size: extra.size!, etag: `"${extra.etag}"`, sha256: parseDigest(row.d), chunks: pointer, recorded };
    }
    if (extra && extra.size === undefined && pointer && dataLength === 0) return { size: columnSize, etag: derived, sha256: undefined, chunks: pointer, recorded };
    return { size: dataLength, etag: derived, sha256: undefined, chunks: undefined, recorded };
  }

  #vouches(extra: StowageExtra, key: string, columnSize: number, modifiedAt: number, dataLength: number, chunked: boolean): boolean {
    if (extra.size === undefined || extra.key !== keyHash(key)) return false;
    if (dataLength !== (chunked ? 0 : extra.size)) return false;
    if (this.#columns.has('size') && columnSize !== extra.size) return false;
    return !this.#columns.has('modified_at') || modifiedAt === extra.modifiedAt;
  }

  #parse(row: Record<string, unknown>): StoredRow {
    const key = this.#dialect.keyFromRow(row.k);
    const modifiedAt = Number(row.m ?? 0);
    return {
      key,
      modifiedAt,
      ...this.#check(key, row, modifiedAt),
      contentType: typeof row.ct === 'string' && row.ct !== '' ? row.ct : null,
      metadata: parseMetadata(row.um),
      data: row.data === undefined ? undefined : toBuffer(row.data),
    };
  }

  /** A listing row: only what a list entry shows. */
  #listed(row: Record<string, unknown>): { key: string; size: number; modifiedAt: number; etag: string } {
    const key = this.#dialect.keyFromRow(row.k);
    const modifiedAt = Number(row.m ?? 0);
    const { size, etag } = this.#check(key, row, modifiedAt);
    return { key, size, modifiedAt, etag };
  }

  #info(row: StoredRow): ObjectInfo {
    return {
      key: row.key,
      size: row.size,
      lastModified: new Date(Math.round(row.modifiedAt * 1000)),
      etag: row.etag,
      contentType: row.contentType ?? inferContentType(row.key),
      metadata: { ...row.metadata },
      sha256: row.sha256,
    };
  }

  async #row(connection: Connection, key: string, options: { data?: boolean; lock?: boolean; signal?: AbortSignal | undefined } = {}): Promise<StoredRow | undefined> {
    const data = options.data === true ? `, ${this.#dialect.quote('data')} AS data` : '';
    const lock = options.lock === true ? this.#dialect.lockClause : '';
    const { rows } = await connection.query(`SELECT ${this.#infoSelect}${data} FROM ${this.#table} WHERE ${this.#keyColumn} = ?${lock}`, [this.#dialect.keyParameter(key)], options.signal);
    return rows[0] ? this.#parse(rows[0]) : undefined;
  }

  /**
   * SQLite, inside a write's transaction: deletes the key's chunk versions other than `keep` whose
   * writer is known to be dead or that are older than the automatic sweep's age. The row now points
   * at `keep` (or at no chunks) and the write lock is held, so none of them is an object or can
   * become one. A look-up on the primary key's prefix: cheap enough for every write.
   */
  async #reclaimStaged(connection: Connection, key: string, keep: string | undefined): Promise<void> {
    const auto = this.#autoSweep;
    if (!auto) return;
    const keyParameter = this.#dialect.keyParameter(key);
    const { rows } = await connection.query(`SELECT DISTINCT version AS v FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ?`, [keyParameter]);
    const cutoff = Date.now() - auto.olderThanMs;
    for (const row of rows) {
      const version = String(row.v);
      if (version === keep || !(versionWriterGone(version) || (versionTime(version) ?? 0) <= cutoff)) continue;
      await connection.query(`DELETE FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ?`, [keyParameter, version]);
    }
  }

  /**
   * An unconditional inline write in one statement, where the dialect has one
   * ({@link Dialect.upsertUnless}): it inserts the row, or replaces one whose `extra` names no chunk
   * rows (a chunked predecessor, or a row whose stored time this table does not give back exactly,
   * goes the way of {@link #commitRow}, which deletes those chunks in the same transaction).
   * `undefined` when the row was left alone for that reason.
   */
  async #upsert(key: string, object: NewObject, signal: AbortSignal | undefined): Promise<ObjectInfo | undefined> {
    const dialect = this.#dialect;
    const timed = this.#columns.has('modified_at');
    if (!dialect.upsertUnless || !this.#columns.has('extra') || (timed && !this.#timeRoundTrips)) return undefined;
    const etag = randomId();
    const modifiedAt = Date.now() / 1000;
    const present = this.#rowValues(etag, key, object, modifiedAt);
    const columns = ['key', ...present.map(([column]) => column)];
    const wrote = await dialect.upsertUnless(this.#tableName, columns, [dialect.keyParameter(key), ...present.map(([, value]) => value)], CHUNKS_MARK, signal);
    return wrote ? this.#written(key, object, `"${etag}"`, modifiedAt) : undefined;
  }

  /** The columns of the main row that this table has, with their values for `object`. */
  #rowValues(etag: string, key: string, object: NewObject, modifiedAt: number): [string, unknown][] {
    const timed = this.#columns.has('modified_at');
    const values: [string, unknown][] = [
      ['data', object.data],
      ['size', object.size],
      ['modified_at', modifiedAt],
      ['content_type', object.contentType],
      ['digest', object.sha256 === undefined ? null : formatDigest(object.sha256)],
      ['extra', formatExtra(etag, object.chunks, { size: object.size, modifiedAt: timed ? modifiedAt : undefined, key })],
      ['user_metadata', JSON.stringify(object.metadata)],
    ];
    return values.filter(([column]) => this.#columns.has(column));
  }

  /** What a write of `object` reports. */
  #written(key: string, object: NewObject, etag: string, modifiedAt: number): ObjectInfo {
    return {
      key,
      size: object.size,
      lastModified: new Date(Math.round(modifiedAt * 1000)),
      etag,
      contentType: this.#columns.has('content_type') ? (object.contentType ?? inferContentType(key)) : inferContentType(key),
      metadata: this.#columns.has('user_metadata') ? { ...object.metadata } : {},
      // Without `extra` no digest is vouched for (another writer may have left it stale).
      sha256: this.#columns.has('digest') && this.#columns.has('extra') ? object.sha256 : undefined,
    };
  }

  /**
   * Points `key` at `object` inside the caller's transaction, honouring the conditions against the
   * row as it is now (locked on PostgreSQL and MySQL, under SQLite's write lock), and deletes the
   * replaced version's chunks.
   */
  async #commitRow(connection: Connection, key: string, object: NewObject, conditions: Conditions): Promise<ObjectInfo> {
    const dialect = this.#dialect;
    const etag = randomId();
    let modifiedAt = Date.now() / 1000;
    const timed = this.#columns.has('modified_at');
    const extraOf = (time: number): string => formatExtra(etag, object.chunks, { size: object.size, modifiedAt: timed ? time : undefined, key });
    const present = this.#rowValues(etag, key, object, modifiedAt);
    const keyParameter = dialect.keyParameter(key);
    for (let attempt = 0; ; attempt++) {
      const current = await this.#row(connection, key, { lock: true });
      if (current) {
        if (conditions.ifNoneMatch === '*') throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
        if (conditions.ifMatch !== undefined && current.etag !== conditions.ifMatch) {
          throw new PreconditionFailedError(`the etag of ${JSON.stringify(key)} is not ${conditions.ifMatch}`, { key, backend: this.name });
        }
        await connection.query(`UPDATE ${this.#table} SET ${present.map(([column]) => `${dialect.quote(column)} = ?`).join(', ')} WHERE ${this.#keyColumn} = ?`, [
          ...present.map(([, value]) => value),
          keyParameter,
        ]);
        // The chunks the row named, even those another writer's change orphaned: nobody else can point at them.
        const { recorded } = current;
        if (recorded && recorded.chunks.version !== object.chunks?.version) await this.#deleteChunks(connection, key, recorded.chunks, recorded.size);
        break;
      }
      if (conditions.ifMatch !== undefined) {
        throw new PreconditionFailedError(`no object at ${JSON.stringify(key)} to compare with ${conditions.ifMatch}`, { key, backend: this.name });
      }
      try {
        const columns = ['key', ...present.map(([column]) => column)];
        const result = await connection.query(dialect.insertIgnoringConflict(this.#tableName, columns), [keyParameter, ...present.map(([, value]) => value)]);
        if (result.affected === 1) break;
      } catch (error) {
        if (codeOf(error) !== 'ALREADY_EXISTS') throw error;
      }
      // Another writer inserted the key since the SELECT (and committed): look again.
      if (conditions.ifNoneMatch === '*') throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
      if (attempt >= 3) throw new UnavailableError(`writing ${JSON.stringify(key)} kept conflicting with other writers`, { key, backend: this.name });
    }
    if (dialect.stagesChunks) await this.#reclaimStaged(connection, key, object.chunks?.version);
    let reported = `"${etag}"`;
    if (!this.#columns.has('extra') || (timed && !this.#timeRoundTrips)) {
      // The fingerprint holds `modified_at` as the column gives it back (a REAL column on PostgreSQL
      // keeps 6 digits); a table without `extra` reports the etag derived from what it stored.
      const stored = await this.#row(connection, key);
      if (stored) {
        if (!this.#columns.has('extra')) reported = stored.etag;
        else if (stored.modifiedAt === modifiedAt) this.#timeRoundTrips = true;
        else await connection.query(`UPDATE ${this.#table} SET ${dialect.quote('extra')} = ? WHERE ${this.#keyColumn} = ?`, [extraOf(stored.modifiedAt), keyParameter]);
        modifiedAt = stored.modifiedAt;
      }
    }
    return this.#written(key, object, reported, modifiedAt);
  }

  async stat(key: string, context: OperationContext = {}): Promise<ObjectInfo> {
    let row: StoredRow | undefined;
    try {
      row = await this.#row(this.#dialect, key, { signal: context.signal });
    } catch (error) {
      throw this.#fail(error, 'stat', key, context.signal);
    }
    if (!row) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key, backend: this.name });
    return this.#info(row);
  }

  async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const { signal } = options;
    let row: StoredRow | undefined;
    let snapshot: Snapshot | undefined;
    try {
      row = await this.#row(this.#dialect, key, { data: true, signal });
      if (row?.chunks) {
        // Read a chunked object inside one snapshot, so a concurrent overwrite (which deletes the old chunks) cannot cut the stream.
        snapshot = await this.#dialect.snapshot(signal);
        if (snapshot) row = await this.#row(snapshot, key, { data: true });
        if (!row?.chunks) {
          // Overwritten inline (or deleted) meanwhile: the row holds it all, no snapshot needed.
          await snapshot?.release();
          snapshot = undefined;
        }
      }
    } catch (error) {
      await snapshot?.release().catch(() => undefined);
      throw this.#fail(error, 'read', key, signal);
    }
    if (!row) {
      await snapshot?.release().catch(() => undefined);
      throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key, backend: this.name });
    }
    const info = this.#info(row);
    let range: { offset: number; length: number } | undefined;
    try {
      range = options.range ? resolveRange(options.range, row.size, { key, backend: this.name }) : undefined;
    } catch (error) {
      await snapshot?.release().catch(() => undefined);
      throw error;
    }
    const start = range?.offset ?? 0;
    const end = range ? range.offset + range.length : row.size;
    const chunks = row.chunks;
    if (chunks && (end <= start || Math.floor(start / chunks.chunkSize) === Math.floor((end - 1) / chunks.chunkSize))) {
      // Everything asked lies in one chunk (or nothing is asked): fetch it now and give the snapshot's
      // connection back at once, rather than holding it until the caller reads the stream.
      const connection: Connection = snapshot ?? this.#dialect;
      try {
        let piece: Buffer = EMPTY;
        if (end > start) {
          const seq = Math.floor(start / chunks.chunkSize);
          const { rows } = await connection.query(
            `SELECT ${this.#dialect.quote('data')} AS data FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ? AND seq = ?`,
            [this.#dialect.keyParameter(key), chunks.version, seq],
            signal,
          );
          if (!rows[0]) throw new PreconditionFailedError(`${JSON.stringify(key)} was overwritten or deleted while it was being read`, { key, backend: this.name });
          piece = toBuffer(rows[0].data).subarray(start - seq * chunks.chunkSize, end - seq * chunks.chunkSize);
        }
        const body = sliceStream(piece);
        return range ? { info, body, range } : { info, body };
      } catch (error) {
        throw this.#fail(error, 'read', key, signal);
      } finally {
        await snapshot?.release().catch(() => undefined);
      }
    }
    const body = chunks ? this.#chunkStream(key, chunks, start, end, snapshot, signal) : sliceStream((row.data ?? EMPTY).subarray(start, end));
    return range ? { info, body, range } : { info, body };
  }

  #chunkStream(key: string, chunks: ChunkPointer, start: number, end: number, snapshot: Snapshot | undefined, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
    const connection: Connection = snapshot ?? this.#dialect;
    const keyParameter = this.#dialect.keyParameter(key);
    let position = start;
    const release = async (): Promise<void> => {
      await snapshot?.release().catch(() => undefined);
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (position >= end) {
            await release();
            controller.close();
            return;
          }
          const seq = Math.floor(position / chunks.chunkSize);
          try {
            const { rows } = await connection.query(
              `SELECT ${this.#dialect.quote('data')} AS data FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ? AND seq = ?`,
              [keyParameter, chunks.version, seq],
              signal,
            );
            if (!rows[0]) {
              throw new PreconditionFailedError(`${JSON.stringify(key)} was overwritten or deleted while it was being read`, { key, backend: this.name });
            }
            const data = toBuffer(rows[0].data);
            const chunkStart = seq * chunks.chunkSize;
            const piece = data.subarray(position - chunkStart, Math.min(data.byteLength, end - chunkStart));
            if (piece.byteLength === 0) throw new UnavailableError(`a chunk of ${JSON.stringify(key)} is shorter than its row says`, { key, backend: this.name });
            position += piece.byteLength;
            controller.enqueue(new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength));
            if (position >= end) {
              await release();
              controller.close();
            }
          } catch (error) {
            await release();
            controller.error(this.#fail(error, 'read', key, signal));
          }
        },
        cancel: release,
      },
      { highWaterMark: 0 },
    );
  }

  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const dialect = this.#dialect;
    const { signal } = request;
    try {
      // Fail early when the outcome is already certain; checked again, under lock, at commit.
      if (request.ifNoneMatch === '*' && (await this.#row(dialect, key, { signal }))) {
        throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
      }
      const chunks = fixedChunks(request.body, this.#chunkSize);
      const first = await chunks.next();
      const second = first.done ? undefined : await chunks.next();
      const base = { contentType: request.contentType, metadata: request.metadata };
      if (!second || second.done) {
        const data = first.done ? EMPTY : first.value;
        const object: NewObject = { ...base, data, size: data.byteLength, sha256: request.sha256(), chunks: undefined };
        const info =
          (request.ifNoneMatch === undefined && request.ifMatch === undefined ? await this.#upsert(key, object, signal) : undefined) ??
          (await dialect.transaction((connection) => this.#commitRow(connection, key, object, request), signal));
        this.#countWrite();
        return info;
      }
      if (!this.#chunked) {
        // A legacy table without chunk rows: the object goes inline, bounded by maxObjectSize (enforced by Store as the body flows).
        const parts: Buffer[] = [first.value!, second.value];
        for await (const part of chunks) parts.push(part);
        const data = Buffer.concat(parts);
        const object: NewObject = { ...base, data, size: data.byteLength, sha256: request.sha256(), chunks: undefined };
        return await dialect.transaction((connection) => this.#commitRow(connection, key, object, request), signal);
      }
      const pointer: ChunkPointer = { version: newVersion(), chunkSize: this.#chunkSize };
      const keyParameter = dialect.keyParameter(key);
      const insertChunk = `INSERT INTO ${this.#chunkTable} (${this.#keyColumn}, version, seq, ${dialect.quote('data')}) VALUES (?, ?, ?, ?)`;
      const streamChunks = async (connection: Connection): Promise<number> => {
        let seq = 0;
        let size = 0;
        for (const part of [first.value!, second.value]) {
          await connection.query(insertChunk, [keyParameter, pointer.version, seq++, part], signal);
          size += part.byteLength;
        }
        for await (const part of chunks) {
          await connection.query(insertChunk, [keyParameter, pointer.version, seq++, part], signal);
          size += part.byteLength;
        }
        return size;
      };
      const finish = (connection: Connection, size: number): Promise<ObjectInfo> =>
        this.#commitRow(connection, key, { ...base, data: EMPTY, size, sha256: request.sha256(), chunks: pointer }, request);
      if (!dialect.stagesChunks) {
        const info = await dialect.transaction(async (connection) => finish(connection, await streamChunks(connection)), signal);
        this.#countWrite();
        return info;
      }
      // SQLite: one writer per database, so the chunks are staged in short statements under a version
      // nobody points at yet, and only the switch of the main row is one (short) transaction.
      try {
        const size = await streamChunks(dialect);
        const info = await dialect.transaction(async (connection) => {
          // A sweep told to spare nothing young (or a process that took this one for dead) may have
          // reclaimed the staged chunks: the object is then refused, never pointed at missing rows.
          const { rows } = await connection.query(`SELECT COUNT(*) AS n FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ?`, [keyParameter, pointer.version]);
          if (Number(rows[0]?.n ?? 0) !== Math.ceil(size / this.#chunkSize)) {
            throw new UnavailableError(`the chunks staged for ${JSON.stringify(key)} were reclaimed before the write committed (a sweep with a small olderThanMs ran meanwhile); write it again`, { key, backend: this.name });
          }
          return finish(connection, size);
        }, signal);
        this.#countWrite();
        return info;
      } catch (error) {
        await dialect.query(`DELETE FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ?`, [keyParameter, pointer.version]).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw this.#fail(error, 'write', key, signal);
    }
  }

  async delete(key: string, context: OperationContext = {}): Promise<void> {
    await this.#deleteKeys([key], context.signal);
  }

  async deleteMany(keys: readonly string[], context: OperationContext = {}): Promise<void> {
    for (let index = 0; index < keys.length; index += DELETE_BATCH) await this.#deleteKeys(keys.slice(index, index + DELETE_BATCH), context.signal);
  }

  async #deleteKeys(keys: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    if (keys.length === 0) return;
    const dialect = this.#dialect;
    const parameters = keys.map((key) => dialect.keyParameter(key));
    const list = keys.map(() => '?').join(', ');
    try {
      await dialect.transaction(async (connection) => {
        const replaced: StoredRow[] = [];
        if (this.#hasChunkTable) {
          const { rows } = await connection.query(`SELECT ${this.#infoSelect} FROM ${this.#table} WHERE ${this.#keyColumn} IN (${list})${dialect.lockClause}`, parameters);
          for (const row of rows) {
            const parsed = this.#parse(row);
            if (parsed.recorded) replaced.push(parsed);
          }
        }
        await connection.query(`DELETE FROM ${this.#table} WHERE ${this.#keyColumn} IN (${list})`, parameters);
        for (const row of replaced) await this.#deleteChunks(connection, row.key, row.recorded!.chunks, row.recorded!.size);
      }, signal);
    } catch (error) {
      throw this.#fail(error, 'delete', keys.length === 1 ? keys[0] : undefined, signal);
    }
  }

  async list(options: BackendListOptions): Promise<ListPage> {
    const { prefix, delimiter, limit } = options;
    const dialect = this.#dialect;
    const items: ListEntry[] = [];
    const prefixes: string[] = [];
    let lower = prefix;
    let inclusive = true;
    if (options.cursor !== undefined) {
      const after = Buffer.from(options.cursor, 'base64url').toString('utf8');
      // After a folder `a/`, every key below it sorts before `a0` ('0' follows '/').
      if (after.endsWith('/')) lower = `${after.slice(0, -1)}0`;
      else {
        lower = after;
        inclusive = false;
      }
      if (compareUtf8(lower, prefix) < 0) {
        lower = prefix;
        inclusive = true;
      }
    }
    const upper = prefixSuccessor(prefix);
    const batch = Math.min(limit + 1, 1000);
    const key = dialect.kind === 'postgres' ? `${this.#keyColumn} COLLATE "C"` : this.#keyColumn;
    let last: string | undefined;
    try {
      for (;;) {
        const conditions = [`${key} ${inclusive ? '>=' : '>'} ?`];
        const parameters: unknown[] = [dialect.keyParameter(lower)];
        if (upper !== undefined) {
          conditions.push(`${key} < ?`);
          parameters.push(dialect.keyParameter(upper));
        }
        const { rows } = await dialect.query(`SELECT ${this.#listSelect} FROM ${this.#table} WHERE ${conditions.join(' AND ')} ORDER BY ${key} LIMIT ${batch}`, parameters, options.signal);
        let jumped = false;
        for (const raw of rows) {
          const row = this.#listed(raw);
          if (!row.key.startsWith(prefix)) return { items, prefixes };
          if (items.length + prefixes.length === limit) return { items, prefixes, cursor: Buffer.from(last!, 'utf8').toString('base64url') };
          const slash = delimiter ? row.key.indexOf('/', prefix.length) : -1;
          if (slash !== -1) {
            const folder = row.key.slice(0, slash + 1);
            prefixes.push(folder);
            last = folder;
            lower = `${folder.slice(0, -1)}0`;
            inclusive = true;
            jumped = true;
            break;
          }
          items.push({ key: row.key, size: row.size, lastModified: new Date(Math.round(row.modifiedAt * 1000)), etag: row.etag });
          last = row.key;
          lower = row.key;
          inclusive = false;
        }
        if (!jumped && rows.length < batch) return { items, prefixes };
      }
    } catch (error) {
      throw this.#fail(error, 'list', undefined, options.signal);
    }
  }

  async copy(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    return this.#copyOrMove(from, to, options, false);
  }

  async move(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    return this.#copyOrMove(from, to, options, true);
  }

  async #copyOrMove(from: string, to: string, options: BackendCopyOptions, move: boolean): Promise<ObjectInfo> {
    const dialect = this.#dialect;
    try {
      return await dialect.transaction(async (connection) => {
        const source = await this.#row(connection, from, { data: true, lock: true });
        if (!source) throw new NotFoundError(`no object at ${JSON.stringify(from)}`, { key: from, backend: this.name });
        if (move && from === to) {
          if (options.ifNoneMatch === '*') throw new AlreadyExistsError(`an object exists at ${JSON.stringify(to)}`, { key: to, backend: this.name });
          return this.#info(source);
        }
        let chunks: ChunkPointer | undefined;
        if (source.chunks) {
          const fromKey = dialect.keyParameter(from);
          const toKey = dialect.keyParameter(to);
          if (move) {
            // The chunks change owner without being copied; the version id stays unique.
            chunks = source.chunks;
            for (const [where, parameters] of this.#chunkRows(from, chunks, source.size)) {
              await connection.query(`UPDATE ${this.#chunkTable} SET ${this.#keyColumn} = ? WHERE ${where}`, [toKey, ...parameters]);
            }
          } else {
            chunks = { version: newVersion(), chunkSize: source.chunks.chunkSize };
            await connection.query(
              `INSERT INTO ${this.#chunkTable} (${this.#keyColumn}, version, seq, ${dialect.quote('data')}) SELECT ?, ?, seq, ${dialect.quote('data')} FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ?`,
              [toKey, chunks.version, fromKey, source.chunks.version],
            );
          }
        }
        const object: NewObject = {
          data: source.chunks ? EMPTY : (source.data ?? EMPTY),
          size: source.size,
          contentType: source.contentType,
          metadata: source.metadata,
          sha256: source.sha256,
          chunks,
        };
        const info = await this.#commitRow(connection, to, object, { ifNoneMatch: options.ifNoneMatch });
        if (move) {
          await connection.query(`DELETE FROM ${this.#table} WHERE ${this.#keyColumn} = ?`, [dialect.keyParameter(from)]);
          const { recorded } = source;
          if (recorded && recorded.chunks.version !== source.chunks?.version) await this.#deleteChunks(connection, from, recorded.chunks, recorded.size);
        }
        return info;
      }, options.signal);
    } catch (error) {
      throw this.#fail(error, move ? 'move' : 'copy', from, options.signal);
    }
  }

  /**
   * Starts an automatic sweep unless one runs: unreferenced versions older than the automatic age,
   * and those of dead writers of this host whatever their age. It never fails an operation: an
   * error is kept (see {@link SqlBlobBackend.autoSweepError}) and the pass is tried again later.
   */
  #startAutoSweep(): Promise<void> | undefined {
    const auto = this.#autoSweep;
    if (!auto || this.#closed) return undefined;
    if (this.#sweeping) return this.#sweeping;
    this.#writesSinceSweep = 0;
    const tally = new SweepTally({ dryRun: false }, SQL_BLOB_SWEEP_KINDS);
    this.#sweeping = this.#sweepChunks(tally, '', auto.olderThanMs).then(
      () => {
        this.#autoSweepError = undefined;
      },
      (error: unknown) => {
        this.#autoSweepError = error instanceof Error ? error : new Error(String(error));
      },
    ).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Counts a write, and starts an automatic sweep once every `everyWrites`. */
  #countWrite(): void {
    if (this.#autoSweep && ++this.#writesSinceSweep >= this.#autoSweep.everyWrites) void this.#startAutoSweep();
  }

  /** What the last automatic sweep failed with, when it did; undefined once one succeeds. */
  get autoSweepError(): Error | undefined {
    return this.#autoSweepError;
  }

  /**
   * Deletes chunk rows that no object points at: what a writer leaves behind when its process dies
   * in the middle of a large write (on SQLite, whose chunks are staged before the switching
   * transaction; on PostgreSQL and MySQL a dead writer's transaction rolls back and leaves none).
   * Versions younger than `olderThan` (default one hour) are kept, since their writer may still be
   * running. A maintenance call: it scans the whole chunk table.
   */
  async sweepOrphanChunks(options: { olderThan?: number | undefined } = {}): Promise<{ versions: number; bytes: number }> {
    const olderThan = options.olderThan ?? 3_600_000;
    if (!Number.isFinite(olderThan) || olderThan < 0) throw new InvalidArgumentError(`olderThan must be a non-negative number of milliseconds, got ${String(olderThan)}`, { backend: this.name });
    const tally = new SweepTally({ dryRun: false }, SQL_BLOB_SWEEP_KINDS);
    await this.#sweepChunks(tally, '', olderThan);
    const [chunks] = tally.result().kinds;
    return { versions: chunks?.removed ?? 0, bytes: chunks?.bytes ?? 0 };
  }

  /**
   * Reclaims the chunk rows of versions no object points at, under `prefix`: a dead writer's staged
   * chunks, and those of objects another program overwrote, deleted or re-created (their rows no
   * longer name them). Versions younger than `olderThanMs` are kept, since their writer may still
   * be running. Objects are never touched. A maintenance call: it scans the whole chunk table.
   */
  async sweep(options: BackendSweepOptions): Promise<SweepResult> {
    const tally = new SweepTally(options, SQL_BLOB_SWEEP_KINDS);
    if (!this.#hasChunkTable) tally.note('this table has no chunk table, so no write leaves anything behind');
    await this.#sweepChunks(tally, options.prefix, options.olderThanMs);
    return tally.result();
  }

  async #sweepChunks(tally: SweepTally, prefix: string, olderThanMs: number): Promise<void> {
    if (!this.#hasChunkTable) return;
    const dialect = this.#dialect;
    try {
      const { rows } = await dialect.query(
        `SELECT ${this.#keyColumn} AS k, version AS v, SUM(${dialect.lengthOf('data')}) AS b FROM ${this.#chunkTable} GROUP BY ${this.#keyColumn}, version`,
      );
      const cutoff = Date.now() - olderThanMs;
      for (const row of rows) {
        const key = dialect.keyFromRow(row.k);
        if (!key.startsWith(prefix)) continue;
        const version = String(row.v);
        // Without a time in its id the version predates timed ids: old enough. A dead writer's: at once.
        const created = versionTime(version);
        const gone = versionWriterGone(version);
        if (!gone && (created ?? 0) > cutoff) continue;
        // A version the key's current row points at is the object itself: never counted.
        if (tally.dryRun) {
          const current = await dialect.transaction((connection) => this.#row(connection, key, { lock: false }));
          if (current?.chunks?.version === version) continue;
        }
        await tally.reclaim(
          { kind: 'chunks', id: `${key}@${version}`, key, size: Number(row.b ?? 0), reason: gone ? 'owner-gone' : 'orphan', ...(created === undefined ? {} : { modified: new Date(created) }) },
          () =>
            dialect.transaction(async (connection) => {
              const current = await this.#row(connection, key, { lock: true });
              if (current?.chunks?.version === version) return false;
              await connection.query(`DELETE FROM ${this.#chunkTable} WHERE ${this.#keyColumn} = ? AND version = ?`, [dialect.keyParameter(key), version]);
              return true;
            }),
        );
      }
    } catch (error) {
      throw this.#fail(error, 'sweeping orphan chunks');
    }
  }

  async health(context: OperationContext = {}): Promise<void> {
    try {
      await this.#dialect.query('SELECT 1', [], context.signal);
    } catch (error) {
      throw this.#fail(error, 'health check', undefined, context.signal);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sweeping;
    await this.#dialect.close();
  }

  /** The driver object: the better-sqlite3 `Database`, the pg `Pool` or the mysql2 promise `Pool`. */
  unwrap(): unknown {
    return this.#dialect.unwrap();
  }
}

/** Streams an in-memory buffer in slices (a copy each, so consumers cannot alter driver buffers). */
function sliceStream(bytes: Buffer): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.byteLength) {
          controller.close();
          return;
        }
        const end = Math.min(bytes.byteLength, offset + READ_SLICE);
        controller.enqueue(new Uint8Array(bytes.subarray(offset, end)));
        offset = end;
      },
    },
    { highWaterMark: 0 },
  );
}
