import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalLakeStore } from './local-store.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-store-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const name = 'sensor_reading/dt=2026-08-01/raw.sensor~0~00000000000000000000~00000000000000000009.parquet';

describe('LocalLakeStore', () => {
  it('lists nothing for a lake folder that does not exist yet', async () => {
    expect(await new LocalLakeStore(join(dir, '湖')).list()).toEqual([]);
  });

  it('stages a file under <name>.tmp (folders created) and makes it visible under its name only on commit', async () => {
    const store = new LocalLakeStore(join(dir, 'lake'));
    const staging = await store.stagingPath(name);
    expect(staging).toBe(join(dir, 'lake', `${name}.tmp`));
    await writeFile(staging, 'PAR1…PAR1');
    expect(await store.list()).toEqual([`${name}.tmp`]);
    await store.commit([name]);
    expect(await store.list()).toEqual([name]);
    expect(await readFile(join(dir, 'lake', name), 'utf8')).toBe('PAR1…PAR1');
  });

  it('replaces an earlier file of the same name on commit (a re-landed range)', async () => {
    const store = new LocalLakeStore(join(dir, 'lake'));
    await writeFile(await store.stagingPath(name), 'first');
    await store.commit([name]);
    await writeFile(await store.stagingPath(name), 'second');
    await store.commit([name]);
    expect(await store.list()).toEqual([name]);
    expect(await readFile(join(dir, 'lake', name), 'utf8')).toBe('second');
  });

  it('fails the commit when a staged file is missing, so offsets are not committed', async () => {
    const store = new LocalLakeStore(join(dir, 'lake'));
    await expect(store.commit([name])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('removes a file, and ignores one that is already gone', async () => {
    const store = new LocalLakeStore(join(dir, 'lake'));
    await writeFile(await store.stagingPath(name), 'x');
    await store.commit([name]);
    await store.remove(name);
    await store.remove(name);
    expect(await store.list()).toEqual([]);
  });
});
