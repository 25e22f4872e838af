/**
 * config models.memory_limit reaches DuckDB: a marts build stays within it (spilling to disk where it can) and fails,
 * naming DuckDB's allocation error, where it cannot.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelsConfig } from '../config/schema.js';
import { runModels } from './index.js';
import { tempDirs, testRegions } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('models.memory_limit', () => {
  it('is the DuckDB memory limit of the build: 1MB is too little even for the seeds, 64MiB builds', async () => {
    const dir = await dirs.make();
    const options = (memoryLimit: string) => ({
      lakeDir: join(dir, 'lake'),
      martsPath: join(dir, 'marts.duckdb'),
      sqlDir,
      regionCode: '330100',
      catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices: [] },
      now: new Date('2026-10-01T00:00:00+08:00'),
      memoryLimit,
    });
    await expect(runModels(options('1MB'))).rejects.toThrow(/could not allocate|Out of Memory/);
    const built = await runModels(options('64MiB'));
    expect(built.models.find((m) => m.name === 'mart_hotline')).toMatchObject({ mode: 'full' });
  });

  it('takes sizes DuckDB reads and refuses anything else, naming the key', () => {
    expect(modelsConfig.parse({ memory_limit: '4GiB' }).memory_limit).toBe('4GiB');
    expect(modelsConfig.parse({ memory_limit: '512 MB' }).memory_limit).toBe('512 MB');
    const bad = modelsConfig.safeParse({ memory_limit: '4 gigs' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['memory_limit'], message: expect.stringContaining('4GiB') });
  });
});
