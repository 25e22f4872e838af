/**
 * What every LakeStore promises the lander (store.ts), as one test suite each implementation runs: LocalLakeStore
 * (local-store.test.ts) and S3LakeStore against s3rver (s3-store.test.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LakeStore } from './store.js';

export interface LakeStoreFixture {
  store: LakeStore;
  /** The committed file's bytes as a reader of the lake gets them, or undefined when there is none. */
  read(relPath: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export const contractFileName =
  'sensor_reading/dt=2026-08-01/raw.sensor~0~00000000000000000000~00000000000000000009.parquet';

export function describeLakeStoreContract(name: string, open: () => Promise<LakeStoreFixture>): void {
  describe(`${name} (LakeStore contract)`, () => {
    let fixture: LakeStoreFixture;
    let store: LakeStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.close();
    });

    const file = contractFileName;
    const land = async (relPath: string, text: string) => {
      await writeFile(await store.stagingPath(relPath), text);
      await store.commit([relPath]);
    };

    it('lists nothing for a lake that does not exist yet', async () => {
      expect(await store.list()).toEqual([]);
    });

    it('shows a staged file as <name>.tmp and makes it visible under its name only on commit', async () => {
      await writeFile(await store.stagingPath(file), 'PAR1…PAR1');
      expect(await store.list()).toEqual([`${file}.tmp`]);
      expect(await fixture.read(file)).toBeUndefined();
      await store.commit([file]);
      expect(await store.list()).toEqual([file]);
      expect(await fixture.read(file)).toBe('PAR1…PAR1');
    });

    it('replaces an earlier file of the same name on commit (a re-landed range)', async () => {
      await land(file, 'first');
      await land(file, 'second');
      expect(await store.list()).toEqual([file]);
      expect(await fixture.read(file)).toBe('second');
    });

    it('fails the commit when a staged file is missing, so offsets are not committed', async () => {
      await expect(store.commit([file])).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('removes a file and a staged leftover, and ignores one that is already gone', async () => {
      await land(file, 'x');
      const other = file.replace('~0~', '~1~');
      await writeFile(await store.stagingPath(other), 'half');
      await store.remove(file);
      await store.remove(file);
      await store.remove(`${other}.tmp`);
      expect(await store.list()).toEqual([]);
      expect(await fixture.read(file)).toBeUndefined();
    });

    it('keeps the flush journal as a small file: written, replaced, read back, undefined when absent, not listed', async () => {
      expect(await store.readSmall('_journal/abc.json')).toBeUndefined();
      await store.writeSmall('_journal/abc.json', '{"files":["a"]}');
      await store.writeSmall('_journal/abc.json', '{"files":["杭州"]}');
      expect(await store.readSmall('_journal/abc.json')).toBe('{"files":["杭州"]}');
      expect(await store.list()).toEqual([]);
      await store.remove('_journal/abc.json');
      expect(await store.readSmall('_journal/abc.json')).toBeUndefined();
    });

    it('gives the newest Parquet files of a dataset as local paths DuckDB can read, newest first, at most `limit`', async () => {
      const names = [0, 1, 2].map((n) => file.replace('~0~', `~${n}~`));
      for (const [i, relPath] of names.entries()) await land(relPath, `file ${i}`);
      await land('sensor_reading/dt=2026-08-01/notes.txt', 'not parquet');
      await land('_dlq/sensor/dt=2026-08-01/raw.sensor~0~1~1.parquet', 'another folder');
      const recent = await store.recentFiles('sensor_reading', 2);
      expect(recent).toHaveLength(2);
      expect(await Promise.all(recent.map((p) => readFile(p, 'utf8')))).toEqual(['file 2', 'file 1']);
      expect(await store.recentFiles('video_event', 5)).toEqual([]);
    });

    it('gives an empty scratch folder for each id, and clears scratch leftovers', async () => {
      const scratch = await store.scratchDir('sensor_reading');
      await writeFile(`${scratch}/leftover.parquet`, 'x');
      const again = await store.scratchDir('sensor_reading');
      expect(again).toBe(scratch);
      await expect(readFile(`${scratch}/leftover.parquet`)).rejects.toMatchObject({ code: 'ENOENT' });
      await store.clearScratch();
      expect(await store.list()).toEqual([]);
    });

    it("lists the small files of a work folder at any depth (every member's journal), never data files", async () => {
      expect(await store.listWork('_journal')).toEqual([]);
      await store.writeSmall('_journal/gen1/member-a.json', '{}');
      await store.writeSmall('_journal/gen1/member-b~released~1.json', '{}');
      await store.writeSmall('_catalogs/devices.json', '[]');
      await land(file, 'PAR1');
      expect(await store.listWork('_journal')).toEqual([
        '_journal/gen1/member-a.json',
        '_journal/gen1/member-b~released~1.json',
      ]);
      expect(await store.list()).toEqual([file]);
    });
  });
}
