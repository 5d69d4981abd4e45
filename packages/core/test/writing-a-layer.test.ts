/** The layer of docs/layers.md ("Writing a layer") works as the page says, and the page shows it verbatim. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import type { Layer } from '@stowage/core';

const example = new URL('../../../examples/writing-a-layer.ts', import.meta.url);
const page = new URL('../../../docs/layers.md', import.meta.url);
// Imported by URL: the example lives outside this package (scripts/tsconfig.json type-checks it).
const { prefixedLogLayer } = (await import(example.href)) as { prefixedLogLayer: (prefix: string, log: (line: string) => void) => Layer };

describe('docs/layers.md: writing a layer', () => {
  it('the page shows the example file exactly', async () => {
    const [code, doc] = await Promise.all([readFile(example, 'utf8'), readFile(page, 'utf8')]);
    expect(doc).toContain('```ts\n' + code + '```');
  });

  it('logs one prefixed line per operation, failures included, and changes nothing else', async () => {
    const lines: string[] = [];
    const store = new Store(new MemoryBackend(), { layers: [prefixedLogLayer('uploads', (line) => lines.push(line))] });
    await store.write('a.txt', 'hello');
    expect(await store.readText('a.txt')).toBe('hello');
    await expect(store.stat('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(lines.map((line) => line.replace(/[\d.]+ms$/, 'Nms'))).toEqual(['[uploads] write ok Nms', '[uploads] read ok Nms', '[uploads] stat failed Nms']);
    expect(store.describe().layers).toEqual(['prefixed-log']);
  });
});
