/**
 * Secrets never leak: everything a test produced (errors with their causes and stacks, what was
 * logged, and how stores, backends and configs print) is scanned for the credentials it used.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';

/** Collects what tests produce and checks that none of it holds a secret. */
export interface SecretScanner {
  /** Records a value to scan: an error (with its cause chain), an object, a string. */
  record(value: unknown): void;
  /** Records what `console` and `process.stdout`/`stderr` print until the returned function is called. */
  captureOutput(): () => void;
  /** How many values were recorded. */
  readonly recorded: number;
  /** Fails, naming where, when any recorded text contains a secret (or its URL-encoded form). */
  assertClean(): void;
}

/** Every way a value can be turned into text by someone debugging it. */
function renderings(value: unknown): string[] {
  const out: string[] = [];
  if (typeof value === 'string') return [value];
  try {
    out.push(inspect(value, { depth: 8, showHidden: true, getters: false }));
  } catch {
    // an object that cannot be inspected cannot leak through inspect
  }
  try {
    out.push(String(value));
  } catch {
    // no toString
  }
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) out.push(json);
  } catch {
    // cyclic or not serializable
  }
  let current: unknown = value;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    out.push(current.message, current.stack ?? '');
    current = current.cause;
  }
  return out;
}

/** A scanner for `secrets` (values shorter than 4 characters are ignored: they would match by chance). */
export function createSecretScanner(secrets: Iterable<string>): SecretScanner {
  const needles = [...new Set([...secrets].filter((secret) => secret.length >= 4))].flatMap((secret) => [secret, encodeURIComponent(secret)]);
  const texts: { where: string; text: string }[] = [];
  const record = (value: unknown, where = 'a recorded value'): void => {
    for (const text of renderings(value)) texts.push({ where, text });
  };
  return {
    record: (value) => record(value),
    captureOutput() {
      const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
      const originals = methods.map((name) => console[name]);
      methods.forEach((name, index) => {
        console[name] = (...args: unknown[]) => {
          for (const arg of args) record(arg, `console.${name}`);
          originals[index]!.apply(console, args);
        };
      });
      const streams = [process.stdout, process.stderr] as const;
      const writes = streams.map((stream) => stream.write);
      streams.forEach((stream, index) => {
        stream.write = ((chunk: unknown, ...rest: unknown[]) => {
          record(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'), index === 0 ? 'stdout' : 'stderr');
          return (writes[index] as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
        }) as typeof stream.write;
      });
      return () => {
        methods.forEach((name, index) => (console[name] = originals[index]!));
        streams.forEach((stream, index) => (stream.write = writes[index]!));
      };
    },
    get recorded() {
      return texts.length;
    },
    assertClean() {
      const leaks = texts.flatMap(({ where, text }) => needles.filter((needle) => text.includes(needle)).map(() => `${where}: …${text.slice(0, 200)}…`));
      assert.deepEqual(leaks, [], `no secret in ${texts.length} recorded texts`);
    },
  };
}
