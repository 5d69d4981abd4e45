/**
 * Glob patterns matched on whole keys: `**` matches anything (slashes included), `*` anything but
 * `/`, `?` one character but `/`, `[abc]`, `[a-z]` and `[!abc]` (or `[^abc]`) one character of (or
 * not of) a set. A backslash escapes the next character. A listing for a glob is narrowed to the
 * pattern's longest literal prefix, so `logs/2026-*.txt` only lists keys under `logs/2026-`.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.ts';

/** A compiled glob. */
export interface CompiledGlob {
  /** The pattern as given. */
  pattern: string;
  /** The longest literal prefix: only keys starting with it can match. */
  prefix: string;
  /** Whether `key` matches the whole pattern. */
  test(key: string): boolean;
}

function escapeRegExp(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

/** Compiles a glob pattern; `InvalidArgumentError` for an unterminated `[` class or a trailing `\`. */
export function compileGlob(pattern: string): CompiledGlob {
  if (typeof pattern !== 'string' || pattern === '') throw new InvalidArgumentError('glob pattern must be a non-empty string');
  let source = '';
  let prefix = '';
  let literal = true;
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (char === '\\') {
      const next = chars[++i];
      if (next === undefined) throw new InvalidArgumentError(`glob pattern ${JSON.stringify(pattern)} ends with a lone backslash`);
      source += escapeRegExp(next);
      if (literal) prefix += next;
      continue;
    }
    if (char === '*') {
      literal = false;
      if (chars[i + 1] === '*') {
        i++;
        // `**/` also matches zero folders: `a/**/b` matches `a/b`.
        if (chars[i + 1] === '/') {
          i++;
          source += '(?:.*/)?';
        } else source += '.*';
      } else source += '[^/]*';
      continue;
    }
    if (char === '?') {
      literal = false;
      source += '[^/]';
      continue;
    }
    if (char === '[') {
      let j = i + 1;
      let negate = false;
      if (chars[j] === '!' || chars[j] === '^') {
        negate = true;
        j++;
      }
      let body = '';
      let first = true;
      for (; j < chars.length; j++) {
        const c = chars[j]!;
        if (c === ']' && !first) break;
        first = false;
        if (c === '\\') {
          const next = chars[++j];
          if (next === undefined) break;
          body += `\\${next}`;
        } else if (c === '-' && body !== '' && chars[j + 1] !== ']') body += '-';
        else body += /[\\\]^[-]/.test(c) ? `\\${c}` : c;
      }
      if (j >= chars.length) throw new InvalidArgumentError(`glob pattern ${JSON.stringify(pattern)} has an unterminated "["`);
      literal = false;
      source += negate ? `(?:(?!/)[^${body}])` : `[${body}]`;
      i = j;
      continue;
    }
    source += escapeRegExp(char);
    if (literal) prefix += char;
  }
  const regexp = new RegExp(`^${source}$`, 'u');
  return { pattern, prefix, test: (key) => regexp.test(key) };
}
