/**
 * Reading the query parameters of a store URL, for adapters' `optionsFromUrl`: one set of rules for
 * every scheme, so that `?bogus=1` or a misspelled `?tablename=` is refused with the closest known
 * name instead of being ignored, and a parameter that goes on to a driver is named as such.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.ts';

/**
 * How one query parameter's value is read: `'string'` as it is; `'boolean'` from `true`, `false`,
 * `1`, `0` (or an empty value, as in `?fsync`, for `true`); the number kinds from decimal digits;
 * a list of strings, one of them (compared without regard to case, returned as listed).
 */
export type UrlParameterType = 'string' | 'boolean' | 'integer' | 'positiveInteger' | 'nonNegativeInteger' | 'positiveNumber' | readonly string[];

/** The query parameters an adapter reads from its URLs: each name, and how its value is read. */
export type UrlParameterSpec = Readonly<Record<string, UrlParameterType>>;

/** The value {@link readUrlParameters} gives for a parameter of type `T`. */
export type UrlParameterValue<T extends UrlParameterType> = T extends 'string'
  ? string
  : T extends 'boolean'
    ? boolean
    : T extends readonly (infer Choice)[]
      ? Choice
      : number;

/** The parameters that were present in the URL, typed after their spec. */
export type UrlParameterValues<S extends UrlParameterSpec> = { -readonly [K in keyof S]?: UrlParameterValue<S[K]> };

/** Parameters a driver reads from the same URL, which stowage passes on unchanged. */
export interface DriverParameters {
  /** The driver, as messages name it, such as `'the pg driver'`. */
  readonly driver: string;
  /** The names it reads. Any other name that stowage does not read is refused. */
  readonly names: readonly string[];
}

/** Options of {@link readUrlParameters}. */
export interface ReadUrlParametersOptions {
  /** The backend errors name, such as `'sql-blob'`. */
  readonly backend: string;
  /** The parameters that go on to a driver; without it every parameter must be in the spec. */
  readonly driver?: DriverParameters | undefined;
}

/** What {@link readUrlParameters} found. */
export interface ReadUrlParameters<S extends UrlParameterSpec> {
  /** The values of the spec's parameters that were present. */
  readonly values: UrlParameterValues<S>;
  /** The URL without the spec's parameters: what goes on to the driver. */
  readonly rest: URL;
}

// Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`.
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidate closest to `input` (ignoring case), when it is close enough to be what was meant:
 * at most a third of its letters different (and at least one allowed). For "did you mean" hints.
 *
 * @example
 * ```ts
 * closestName('tablename', ['tableName', 'createTable']) // 'tableName'
 * closestName('bogus', ['tableName', 'createTable']) // undefined
 * ```
 */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function describeType(type: UrlParameterType): string {
  if (typeof type !== 'string') return `one of ${type.join(', ')}`;
  switch (type) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      return 'an integer';
    case 'positiveInteger':
      return 'a positive integer';
    case 'nonNegativeInteger':
      return 'a non-negative integer';
    case 'positiveNumber':
      return 'a positive number';
    case 'string':
      return 'a string';
  }
}

function parseValue(type: UrlParameterType, value: string): unknown {
  if (typeof type !== 'string') return type.find((choice) => choice.toLowerCase() === value.toLowerCase());
  switch (type) {
    case 'string':
      return value;
    case 'boolean':
      if (value === 'true' || value === '1' || value === '') return true;
      if (value === 'false' || value === '0') return false;
      return undefined;
    case 'positiveNumber': {
      const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
      return Number.isFinite(number) && number > 0 ? number : undefined;
    }
    default: {
      if (!/^-?\d+$/.test(value)) return undefined;
      const number = Number(value);
      if (!Number.isSafeInteger(number)) return undefined;
      if (type === 'positiveInteger' && number <= 0) return undefined;
      if (type === 'nonNegativeInteger' && number < 0) return undefined;
      return number;
    }
  }
}

/**
 * Reads the query parameters of a store URL after `spec`, and refuses what it cannot place: an
 * unknown name (with the closest known one, when there is one), a repeated one, a value of the wrong
 * kind. Names in `options.driver` are left in `rest` for the driver; every other name must be in
 * `spec`. All failures are `InvalidArgumentError`s naming the parameter, and no value is echoed
 * for a parameter whose name looks secret.
 *
 * @example
 * ```ts
 * const { values } = readUrlParameters(new URL('file:///srv/data?fsync=true'), { fsync: 'boolean', lockTimeoutMs: 'positiveNumber' }, { backend: 'local' })
 * values.fsync // true
 * readUrlParameters(new URL('file:///srv/data?fsnyc=1'), { fsync: 'boolean' }, { backend: 'local' })
 * // InvalidArgumentError: unknown parameter "fsnyc" in a file: URL: did you mean "fsync"? ...
 * ```
 */
export function readUrlParameters<S extends UrlParameterSpec>(url: URL, spec: S, options: ReadUrlParametersOptions): ReadUrlParameters<S> {
  const { backend, driver } = options;
  const scheme = url.protocol;
  const own = Object.keys(spec);
  const passed = new Set(driver?.names ?? []);
  const values: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    if (seen.has(name)) throw new InvalidArgumentError(`the ${name} parameter appears twice in a ${scheme} URL`, { backend });
    seen.add(name);
    if (passed.has(name) && !Object.hasOwn(spec, name)) continue;
    if (!Object.hasOwn(spec, name)) {
      const suggestion = closestName(name, [...own, ...passed]);
      const known = own.length === 0 ? `${backend} reads no parameters` : `${backend} reads ${own.join(', ')}`;
      const forwarded = driver === undefined ? '' : `; ${driver.driver} reads ${[...passed].join(', ')} (passed on to it unchanged)`;
      throw new InvalidArgumentError(
        `unknown parameter ${JSON.stringify(name)} in a ${scheme} URL${suggestion === undefined ? '' : `: did you mean ${JSON.stringify(suggestion)}?`} (${known}${forwarded})`,
        { backend },
      );
    }
    const type = spec[name]!;
    const parsed = parseValue(type, value);
    if (parsed === undefined) {
      const shown = /secret|password|token|key|credential|signature/i.test(name) ? '' : `, got ${JSON.stringify(value)}`;
      throw new InvalidArgumentError(`the ${name} parameter of a ${scheme} URL must be ${describeType(type)}${shown}`, { backend });
    }
    values[name] = parsed;
  }
  const rest = new URL(url.href);
  for (const name of own) rest.searchParams.delete(name);
  return { values: values as UrlParameterValues<S>, rest };
}
