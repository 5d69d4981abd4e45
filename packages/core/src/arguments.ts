/**
 * Checks of the arguments of public entry points, so that a call from JavaScript (or with a cast)
 * that passes the wrong kind of value gets an `InvalidArgumentError` that says what was expected,
 * never a `TypeError` from deep inside.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.ts';
import { closestName } from './url-parameters.ts';

/** A short description of a value's kind, for messages: `undefined`, `null`, `a number`, `an array`, ... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return value === '' ? 'an empty string' : 'a string';
    case 'object':
      return 'an object';
    case 'function':
      return 'a function';
    default:
      return `a ${typeof value}`;
  }
}

/** Whether `value` is an object that is not null, an array or a function. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that the options argument `value` of `what` is an object or `undefined`, and returns it
 * (`{}` for `undefined`). `InvalidArgumentError` otherwise.
 */
export function checkOptions<T extends object>(value: T | undefined, what: string): T {
  if (value === undefined) return {} as T;
  if (!isPlainObject(value)) throw new InvalidArgumentError(`${what} takes an options object, got ${describeValue(value)}`);
  return value;
}

/**
 * Refuses a field of `object` that is not among `known`, naming the closest known one: a misspelled
 * `maxsize` must not be ignored silently.
 */
export function checkKnownFields(object: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const field of Object.keys(object)) {
    if (known.includes(field)) continue;
    const suggestion = closestName(field, known);
    throw new InvalidArgumentError(
      `${what} has an unknown field ${JSON.stringify(field)}${suggestion === undefined ? '' : `: did you mean ${JSON.stringify(suggestion)}?`} (known: ${known.join(', ')})`,
    );
  }
}
