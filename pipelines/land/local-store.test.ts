import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalLakeStore } from './local-store.js';
import { contractFileName, describeLakeStoreContract } from './store-contract.js';

describeLakeStoreContract('LocalLakeStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-store-'));
  const root = join(dir, '湖');
  return {
    store: new LocalLakeStore(root),
    read: async (relPath) => {
      try {
        return await readFile(join(root, relPath), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('LocalLakeStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityhub-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stages a file beside its final name (<name>.tmp, folders created), so commit is a rename', async () => {
    const store = new LocalLakeStore(join(dir, 'lake'));
    expect(await store.stagingPath(contractFileName)).toBe(join(dir, 'lake', `${contractFileName}.tmp`));
  });
});
