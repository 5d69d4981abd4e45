/**
 * Keys in URL paths. A key's path is its segments, each percent-encoded; a path becomes a key only
 * if every segment decodes to valid UTF-8 without a `/`, `\` or NUL of its own, so that `%2F`,
 * `%5C`, `%00` and overlong or broken escapes cannot change how the key splits. What is left (`..`,
 * empty segments, control characters) is refused by core's key rules, as everywhere else.
 *
 * @module
 */

/** The URL path (relative, no leading `/`) of a key. */
export function keyToPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Why a path is not a key, or the key. */
export type PathResult = { key: string; problem?: undefined } | { key?: undefined; problem: string };

/** The key a URL path (relative to the mount point) names. */
export function pathToKey(path: string): PathResult {
  if (path === '') return { problem: 'no key in the path' };
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { problem: 'a path segment is not valid percent-encoded UTF-8' };
    }
    if (/[/\\\0]/.test(segment)) return { problem: 'a path segment encodes a separator or NUL' };
    segments.push(segment);
  }
  return { key: segments.join('/') };
}

/**
 * Why a raw request target (as the client sent it, before URL parsing) is refused: a backslash, or a
 * `.` / `..` segment, literal or percent-encoded. URL parsers resolve those silently (and treat `\`
 * as `/`), so they are refused before parsing rather than resolved into some other key.
 */
export function rawPathProblem(target: string): string | undefined {
  const path = target.split(/[?#]/, 1)[0] ?? '';
  if (path.includes('\\')) return 'a backslash in the path';
  for (const segment of path.split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.' || plain === '..') return 'a dot segment in the path';
  }
  return undefined;
}
