/**
 * The memory store, which lives as long as one command: what makes sense within one process (a copy
 * into it and within it, a sync dry run, its refusal to sign) and a doctor run over a configuration
 * that names it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_URL_SHAPES } from '../src/locations.ts';
import { workspace, type Workspace } from './run-binary.ts';

describe('the memory store, within one process', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace();
    await ws.file('tree/a.txt', 'alpha\n');
    await ws.file('tree/b/c.txt', 'charlie\n');
  });
  afterAll(() => ws?.cleanup());

  it('takes a recursive copy, and copies within itself in the same run', async () => {
    const copied = await ws.run(['cp', '-r', './tree', 'memory://scratch/in/']);
    expect(copied).toMatchObject({ status: 0, stderr: '' });
    expect(copied.stdout).toBe('copied ./tree/a.txt to memory://scratch/in/a.txt (6 B)\ncopied ./tree/b/c.txt to memory://scratch/in/b/c.txt (8 B)\n');
    // Each command starts with an empty memory store.
    expect(await ws.run(['ls', '-r', 'memory://scratch/'])).toMatchObject({ status: 0, stdout: '' });
    expect((await ws.run(['cat', 'memory://scratch/in/a.txt'])).status).toBe(3);
  });

  it('plans a sync into it, and refuses to sign', async () => {
    const planned = await ws.run(['sync', '--dry-run', './tree', 'memory://scratch/']);
    expect(planned.stdout).toBe(
      'would copy ./tree/a.txt to memory://scratch/a.txt (new)\nwould copy ./tree/b/c.txt to memory://scratch/b/c.txt (new)\nsync (dry run): 2 to copy, 0 unchanged\n',
    );
    const signed = await ws.run(['sign', 'memory://scratch/a.txt']);
    expect(signed.status).toBe(6);
    expect(signed.stderr).toMatch(/^stowage: CAPABILITY_NOT_SUPPORTED: the 'memory' backend cannot sign URLs itself; .+ \(memory:\/\/scratch\/a\.txt\)\n$/);
  });

  it('is healthy in doctor, beside the embedded store and a local one', async () => {
    await ws.file('stowage.config.json', JSON.stringify({ backends: { ram: { type: 'memory' } }, stores: { scratch: { backend: 'ram' }, disk: { backend: 'file:./data', root: 'x/' } } }));
    const doctor = await ws.run(['doctor']);
    expect(doctor.stderr).toBe('');
    expect(doctor.status).toBe(0);
    const lines = doctor.stdout.split('\n');
    expect(lines[0]).toMatch(/^stowage \d+\.\d+\.\d+ on Node v\d+/);
    expect(lines[1]).toMatch(/^config: .+stowage\.config\.json \(1 backend, 2 stores\)$/);
    expect(doctor.stdout).toMatch(/^adapters: .*@stowage\/sql-blob \d+\.\d+\.\d+.*@stowage\/local \d/m);
    // Every adapter package the command knows is listed once, as installed or as not installed.
    const installed = /^adapters: (.*)$/m.exec(doctor.stdout)?.[1] ?? '';
    const missing = /^not installed: (.*)$/m.exec(doctor.stdout)?.[1] ?? '';
    for (const module of new Set(Object.values(STORE_URL_SHAPES).map((shape) => shape.module))) {
      expect([installed.includes(`${module} `), missing.includes(`${module} (`)].filter(Boolean), module).toHaveLength(1);
    }
    expect(doctor.stdout).toMatch(/^ {2}ok {2}: +sql-blob:sqlite +embedded, \.stowage\/store\.db not created yet/m);
    expect(doctor.stdout).toMatch(/^ {2}ok {2}scratch +memory +\d+ ms$/m);
    expect(doctor.stdout).toMatch(/^ {2}ok {2}disk +local \(root x\/\) +\d+ ms$/m);
    expect(doctor.stdout).toMatch(/^3 of 3 stores healthy$/m);
    const json = JSON.parse((await ws.run(['doctor', '--json'])).stdout) as { stores: { name: string; ok: boolean }[] };
    expect(json.stores.map((store) => [store.name, store.ok])).toEqual([
      [':', true],
      ['scratch', true],
      ['disk', true],
    ]);
  });
});
