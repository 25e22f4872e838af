/**
 * Lake compaction and retention on a local lake (docs/lake.md "Compaction"): each past day folder of small landed
 * files becomes one file holding exactly their rows, with a manifest keeping every original file's bus coordinates;
 * today's folder and files a flush journal names are left alone; a crash at any step is recovered without a lost or
 * doubled row; retention removes exactly the expired days of the configured datasets.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lakeDays } from '../models/lake.js';
import { type CompactLakeOptions, compactLake } from './compact.js';
import type { CompactionStep } from './compact-day.js';
import { recoverCompactions } from './compact-recover.js';
import {
  columnTypes,
  dayFiles,
  GENERATION,
  type LandedFileSpec,
  parquetFiles,
  rowsOf,
  writeLandedFile,
} from './compact-testing.js';
import { LocalLakeStore } from './local-store.js';
import { compactionManifest, manifestPath } from './manifest.js';

/** 2026-08-10 12:00 in Asia/Shanghai: today is 2026-08-10. */
const NOW = new Date('2026-08-10T04:00:00Z');
const TODAY = '2026-08-10';
const D1 = '2026-08-03';
const D2 = '2026-08-04';
const FEW = '2026-08-05';

let instance: DuckDBInstance;
let db: DuckDBConnection;
let root: string;
let lake: string;
let store: LocalLakeStore;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityhub-compact-'));
  lake = join(root, 'lake');
  store = new LocalLakeStore(lake);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `count` landed files of 20 rows each, alternating partitions 0 and 1, offsets counting up per partition. */
async function land(
  folder: string,
  dt: string,
  count: number,
  o: { topic?: string; startOffset?: number; firstWithout?: string[] } = {},
): Promise<string[]> {
  const topic = o.topic ?? (folder.startsWith('_dlq/') ? 'raw.sensor' : `raw.${folder.split('_')[0]}`);
  const paths: string[] = [];
  for (let n = 0; n < count; n++) {
    const partition = n % 2;
    const first = (o.startOffset ?? 0) + Math.floor(n / 2) * 20;
    const spec: LandedFileSpec = { folder, dt, topic, partition, first, last: first + 19 };
    if (n === 0 && o.firstWithout) spec.without = o.firstWithout;
    paths.push(await writeLandedFile(db, lake, spec));
  }
  return paths;
}

function compact(over: Partial<CompactLakeOptions> = {}) {
  return compactLake({
    store,
    readDir: lake,
    spillDir: join(root, 'spill'),
    minFiles: 8,
    now: () => NOW,
    ...over,
  });
}

const rowsIn = async (folder: string) => rowsOf(db, await parquetFiles(lake, folder));

async function mtimes(folder: string, dt: string): Promise<Record<string, number>> {
  const names = await dayFiles(lake, folder, dt);
  const out: Record<string, number> = {};
  for (const name of names) out[name] = (await stat(join(lake, folder, `dt=${dt}`, name))).mtimeMs;
  return out;
}

async function manifestOf(folder: string, dt: string) {
  const [compacted] = (await dayFiles(lake, folder, dt)).filter((n) => n.startsWith('compacted~'));
  expect(compacted, `${folder}/dt=${dt} has a compacted file`).toBeDefined();
  const text = await readFile(join(lake, manifestPath({ folder, day: dt }, compacted!)), 'utf8');
  return compactionManifest.parse(JSON.parse(text));
}

describe('compactLake on a local lake', () => {
  it('merges each past day into one file with exactly its rows and a manifest of every original file; leaves today, small days and journal-named files alone', async () => {
    const sensorD1 = await land('sensor_reading', D1, 10, { firstWithout: ['grid_code'] });
    const sensorD2 = await land('sensor_reading', D2, 10);
    await land('sensor_reading', FEW, 3);
    await land('sensor_reading', TODAY, 10);
    const videoD1 = await land('video_alert', D1, 8);
    const deadD1 = await land('_dlq/sensor', D1, 8);
    // A flush in progress (or interrupted) named this file: the pipeline's crash recovery owns it.
    const inFlight = sensorD2.at(-1)!;
    await mkdir(join(lake, '_journal', GENERATION), { recursive: true });
    await writeFile(
      join(lake, '_journal', GENERATION, 'main.json'),
      JSON.stringify({ generation: GENERATION, member: 'main', written_at: NOW.getTime(), files: [inFlight] }),
    );
    const before = {
      sensor: await rowsIn('sensor_reading'),
      video: await rowsIn('video_alert'),
      dead: await rowsIn('_dlq/sensor'),
    };
    const typesBefore = await columnTypes(db, join(lake, sensorD2[0]!));
    const todayBefore = await mtimes('sensor_reading', TODAY);
    const fewBefore = await mtimes('sensor_reading', FEW);

    const report = await compact();

    expect(report.today).toBe(TODAY);
    expect(report.compacted.map((d) => `${d.folder}/${d.day}:${d.filesBefore}`).sort()).toEqual([
      `_dlq/sensor/${D1}:8`,
      `sensor_reading/${D1}:10`,
      `sensor_reading/${D2}:9`,
      `video_alert/${D1}:8`,
    ]);
    for (const [folder, dt] of [
      ['sensor_reading', D1],
      ['video_alert', D1],
      ['_dlq/sensor', D1],
    ] as const)
      expect(await dayFiles(lake, folder, dt)).toEqual([expect.stringMatching(/^compacted~[0-9a-f]{16}\.parquet$/)]);
    const d2 = await dayFiles(lake, 'sensor_reading', D2);
    expect(d2).toHaveLength(2);
    expect(d2).toContain(inFlight.split('/').at(-1));
    expect(await mtimes('sensor_reading', TODAY)).toEqual(todayBefore);
    expect(await mtimes('sensor_reading', FEW)).toEqual(fewBefore);

    expect(await rowsIn('sensor_reading')).toEqual(before.sensor);
    expect(await rowsIn('video_alert')).toEqual(before.video);
    expect(await rowsIn('_dlq/sensor')).toEqual(before.dead);
    // Same column types as landed files, and no hive `dt` column written into the file.
    const [compactedD2] = d2.filter((n) => n.startsWith('compacted~'));
    expect(await columnTypes(db, join(lake, 'sensor_reading', `dt=${D2}`, compactedD2!))).toEqual(typesBefore);

    const manifest = await manifestOf('sensor_reading', D1);
    expect(manifest).toMatchObject({ folder: 'sensor_reading', dt: D1, rows: 200 });
    expect(manifest.files.map((f) => f.name)).toEqual(sensorD1.map((p) => p.split('/').at(-1)).sort());
    expect(manifest.files.find((f) => f.name.startsWith('raw.sensor~1~'))).toMatchObject({
      topic: 'raw.sensor',
      partition: 1,
      first_offset: 0,
      last_offset: 19,
      generation: GENERATION,
      rows: 20,
    });
    for (const file of manifest.files) expect(file.bytes).toBeGreaterThan(0);
    expect((await manifestOf('_dlq/sensor', D1)).files.map((f) => f.name)).toEqual(
      deadD1.map((p) => p.split('/').at(-1)).sort(),
    );
    expect((await manifestOf('video_alert', D1)).files).toHaveLength(videoD1.length);
    // Nothing in progress is left behind.
    expect(await store.listWork('_manifests/_pending')).toEqual([]);
  });

  it('is idempotent, and merges later small files with the compacted file, keeping every original coordinate', async () => {
    const first = await land('sensor_reading', D1, 8);
    await compact();
    const listing = (await store.list()).sort();
    const rerun = await compact();
    expect(rerun.compacted).toEqual([]);
    expect((await store.list()).sort()).toEqual(listing);

    // Late records of that day land afterwards (offsets further on).
    const late = await land('sensor_reading', D1, 3, { startOffset: 1000 });
    const before = await rowsIn('sensor_reading');
    const [oldCompacted] = await dayFiles(lake, 'sensor_reading', D1);
    const report = await compact({ days: [D1] });
    expect(report.compacted).toMatchObject([{ filesBefore: 4, originals: 11, rows: 220 }]);
    expect(await dayFiles(lake, 'sensor_reading', D1)).toEqual([report.compacted[0]!.compacted]);
    expect(await rowsIn('sensor_reading')).toEqual(before);
    const manifest = await manifestOf('sensor_reading', D1);
    expect(manifest.sources.sort()).toEqual([oldCompacted!, ...late.map((p) => p.split('/').at(-1)!)].sort());
    expect(manifest.files.map((f) => `${f.partition}:${f.first_offset}-${f.last_offset}`).sort()).toEqual(
      [...first, ...late]
        .map((p) => p.split('/').at(-1)!.split('~'))
        .map(([, partition, a, b]) => `${partition}:${Number(a)}-${Number(b)}`)
        .sort(),
    );
    // The earlier manifest went with the file it described.
    expect((await store.listWork('_manifests')).filter((p) => p.includes(oldCompacted!))).toEqual([]);
  });

  describe('a crash between the steps', () => {
    async function crashAt(step: CompactionStep) {
      await land('sensor_reading', D1, 8);
      const before = await rowsIn('sensor_reading');
      const crash = new Error(`crash after ${step}`);
      const failed = await compact({
        afterStep: (at) => {
          if (at === step) throw crash;
        },
      }).catch((error: unknown) => error);
      expect((failed as Error).cause).toBe(crash);
      return before;
    }

    it('after the manifest, before the commit: the sources stay the day, recovery drops the manifest', async () => {
      const before = await crashAt('manifest');
      expect(await rowsIn('sensor_reading')).toEqual(before);
      expect((await lakeDays(lake, 'sensor_reading')).get(D1)!.files).toHaveLength(8);
      expect(await recoverCompactions(store)).toEqual({ rolledForward: 0, rolledBack: 1 });
      expect(await store.listWork('_manifests')).toEqual([]);
      expect(await rowsIn('sensor_reading')).toEqual(before);
      // The next run compacts the day as if nothing had happened.
      expect((await compact()).compacted).toHaveLength(1);
      expect(await rowsIn('sensor_reading')).toEqual(before);
    });

    it('after the commit, before the sources are removed: recovery removes them — no row lost, none doubled', async () => {
      const before = await crashAt('commit');
      expect(await dayFiles(lake, 'sensor_reading', D1)).toHaveLength(9);
      expect(await recoverCompactions(store)).toEqual({ rolledForward: 1, rolledBack: 0 });
      expect(await dayFiles(lake, 'sensor_reading', D1)).toEqual([expect.stringMatching(/^compacted~/)]);
      expect(await rowsIn('sensor_reading')).toEqual(before);
      expect((await manifestOf('sensor_reading', D1)).files).toHaveLength(8);
      expect(await store.listWork('_manifests/_pending')).toEqual([]);
    });

    it('after the sources are removed: recovery only clears the pending record; a compaction starts with it', async () => {
      const before = await crashAt('removed');
      expect(await store.listWork('_manifests/_pending')).toHaveLength(1);
      const report = await compact();
      expect(report.recovered).toEqual({ rolledForward: 1, rolledBack: 0 });
      expect(report.compacted).toEqual([]);
      expect(await rowsIn('sensor_reading')).toEqual(before);
      expect(await store.listWork('_manifests/_pending')).toEqual([]);
    });
  });

  it('retention removes exactly the expired days of the configured datasets, with their manifests', async () => {
    const days = Array.from({ length: 8 }, (_, i) => new Date(Date.UTC(2026, 7, 10 - i)).toISOString().slice(0, 10));
    for (const dt of days) {
      await land('sensor_reading', dt, 8);
      await land('video_alert', dt, 2);
      await land('_dlq/hotline', dt, 2, { topic: 'raw.hotline' });
    }
    // Compacted first, so expired days have manifests to remove too.
    await compact();
    expect((await store.listWork('_manifests/sensor_reading')).length).toBe(7);

    const report = await compact({
      retention: new Map([
        ['sensor_reading', 3],
        ['_dlq', 5],
      ]),
    });
    // Kept: today and the 3 (dead letters: 5) days before it.
    const kept = (n: number) => days.slice(0, n + 1).sort();
    const present = async (folder: string) =>
      (await store.list())
        .filter((p) => p.startsWith(`${folder}/`))
        .map((p) => /dt=([\d-]+)/.exec(p)![1]!)
        .filter((d, i, all) => all.indexOf(d) === i)
        .sort();
    expect(await present('sensor_reading')).toEqual(kept(3));
    expect(await present('_dlq/hotline')).toEqual(kept(5));
    expect(await present('video_alert')).toEqual([...days].sort());
    expect(report.expired.map((d) => `${d.folder}/${d.day}`).sort()).toEqual(
      [...days.slice(4).map((d) => `sensor_reading/${d}`), ...days.slice(6).map((d) => `_dlq/hotline/${d}`)].sort(),
    );
    expect((await store.listWork('_manifests/sensor_reading')).map((p) => /dt=([\d-]+)/.exec(p)![1]).sort()).toEqual(
      days.slice(1, 4).sort(),
    );
  });

  it('a dry run says what it would do and changes nothing', async () => {
    await land('sensor_reading', D1, 8);
    await land('sensor_reading', '2026-01-01', 2);
    const listing = (await store.list()).sort();
    const report = await compact({ dryRun: true, retention: new Map([['sensor_reading', 30]]) });
    expect(report.planned.compact.map((d) => d.day)).toEqual([D1]);
    expect(report.planned.expire.map((d) => d.day)).toEqual(['2026-01-01']);
    expect((await store.list()).sort()).toEqual(listing);
  });
});
