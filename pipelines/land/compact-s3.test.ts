/**
 * Compaction of a lake in an S3 bucket (s3rver), run as `cityhub compact` runs it (runCompactionJob: the models build
 * lock, the mirror synced first, DuckDB reading the mirror): the bucket ends as a local lake compacted from the same
 * files does — the same compacted names, manifests and rows — and the mirror shows the compacted file at once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type S3rverPeer, s3rverLake, startS3rver } from '../../connectors/dept-files/s3rver-peer.js';
import { loadConfig } from '../config/load.js';
import { compactLake } from './compact.js';
import { runCompactionJob } from './compact-job.js';
import { recoverCompactions } from './compact-recover.js';
import {
  dayFiles,
  type LandedFileSpec,
  landInStore,
  parquetFiles,
  rowsOf,
  writeLandedFile,
} from './compact-testing.js';
import { syncLakeMirror } from './lake-mirror.js';
import { LocalLakeStore } from './local-store.js';
import { compactionManifest } from './manifest.js';
import { S3LakeStore } from './s3-store.js';

const BUCKET = 'city-lake';
const NOW = new Date('2026-08-10T04:00:00Z');
let server: S3rverPeer;
let root: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  root = await mkdtemp(join(tmpdir(), 'cityhub-compact-s3-'));
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(async () => {
  db?.closeSync();
  instance?.closeSync();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

/** Eight small files a day for two past days and today, sensor readings and sensor dead letters. */
function specs(): LandedFileSpec[] {
  const out: LandedFileSpec[] = [];
  for (const dt of ['2026-08-03', '2026-08-04', '2026-08-10'])
    for (const folder of ['sensor_reading', '_dlq/sensor'])
      for (let n = 0; n < 8; n++)
        out.push({ folder, dt, topic: 'raw.sensor', partition: n % 2, first: n * 10, last: n * 10 + 9 });
  return out;
}

/** A config for the bucket under a prefix of its own; the hub's data dir in a fresh folder. */
async function s3Config() {
  const dir = await mkdtemp(join(root, 'hub-'));
  const lake = { ...s3rverLake(server.endpoint, BUCKET, `run-${++prefixes}/lake`), cache_dir: join(dir, 'cache') };
  const file = join(dir, 'cityhub.yaml');
  await writeFile(
    file,
    stringify({
      region_code: '330000',
      data_dir: join(dir, 'data'),
      privacy: { hmac_key: 'compact-s3-test-hmac-key' },
      connectors: [{ id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor', once: true }],
      lake,
    }),
  );
  const loaded = loadConfig(file);
  const store = new S3LakeStore({ config: lake, cacheDir: loaded.paths.lakeCacheDir });
  return { loaded, store, dir };
}

/** Every manifest of a store, without what depends on the moment or the encoder (compacted_at, bytes). */
async function manifests(store: S3LakeStore | LocalLakeStore) {
  const out: Record<string, unknown> = {};
  for (const path of await store.listWork('_manifests')) {
    const {
      compacted_at: _at,
      bytes: _bytes,
      files,
      ...rest
    } = compactionManifest.parse(JSON.parse((await store.readSmall(path))!));
    out[path] = { ...rest, files: files.map(({ bytes: _b, ...file }) => file) };
  }
  return out;
}

describe('compaction of an S3 lake', () => {
  it('gives the bucket what a local lake compacted from the same files holds, and the mirror the compacted file at once', async () => {
    const { loaded, store } = await s3Config();
    const localLake = join(root, `local-${prefixes}`);
    try {
      for (const spec of specs()) {
        await landInStore(db, store, spec);
        await writeLandedFile(db, localLake, spec);
      }
      const before = await rowsOf(db, await parquetFiles(localLake, 'sensor_reading'));

      const outcome = await runCompactionJob(loaded, { store, lockWaitMs: 0, now: () => NOW });
      expect(outcome.ran).toBe(true);
      const local = new LocalLakeStore(localLake);
      await compactLake({
        store: local,
        readDir: localLake,
        spillDir: join(root, 'spill'),
        minFiles: 8,
        now: () => NOW,
      });

      // The same files in the bucket as in the local lake: one compacted file per past day, today as landed.
      expect((await store.list()).filter((p) => p.endsWith('.parquet')).sort()).toEqual(
        (await local.list()).filter((p) => p.endsWith('.parquet')).sort(),
      );
      expect(await dayFiles(loaded.paths.lakeDir, 'sensor_reading', '2026-08-03')).toEqual([
        expect.stringMatching(/^compacted~[0-9a-f]{16}\.parquet$/),
      ]);
      expect(await manifests(store)).toEqual(await manifests(local));
      expect(Object.keys(await manifests(store))).toHaveLength(4);

      // The mirror held the compacted files before any sync; a sync then changes nothing a reader sees.
      const mirrored = await rowsOf(db, await parquetFiles(loaded.paths.lakeDir, 'sensor_reading'));
      expect(mirrored).toEqual(before);
      await syncLakeMirror(store, store.mirrorDir);
      expect(await rowsOf(db, await parquetFiles(loaded.paths.lakeDir, 'sensor_reading'))).toEqual(before);
      expect(await rowsOf(db, await parquetFiles(loaded.paths.lakeDir, '_dlq/sensor'))).toEqual(
        await rowsOf(db, await parquetFiles(localLake, '_dlq/sensor')),
      );
    } finally {
      store.client.destroy();
    }
  });

  it('recovers a compaction interrupted between its commit and the removal of its sources, in the bucket and the mirror', async () => {
    const { loaded, store, dir } = await s3Config();
    try {
      for (const spec of specs().filter((s) => s.dt === '2026-08-03' && s.folder === 'sensor_reading'))
        await landInStore(db, store, spec);
      await syncLakeMirror(store, store.mirrorDir);
      const before = await rowsOf(db, await parquetFiles(store.mirrorDir, 'sensor_reading'));
      const crash = new Error('killed after the commit');
      await expect(
        compactLake({
          store,
          readDir: store.mirrorDir,
          mirrorDir: store.mirrorDir,
          spillDir: join(dir, 'spill'),
          minFiles: 8,
          now: () => NOW,
          afterStep: (step) => {
            if (step === 'commit') throw crash;
          },
        }),
      ).rejects.toMatchObject({ cause: crash });
      expect((await store.list()).filter((p) => p.endsWith('.parquet'))).toHaveLength(9);

      expect(await recoverCompactions(store)).toEqual({ rolledForward: 1, rolledBack: 0 });
      expect((await store.list()).filter((p) => p.startsWith('sensor_reading/'))).toEqual([
        expect.stringMatching(/^sensor_reading\/dt=2026-08-03\/compacted~/),
      ]);
      expect(await rowsOf(db, await parquetFiles(loaded.paths.lakeDir, 'sensor_reading'))).toEqual(before);
      await syncLakeMirror(store, store.mirrorDir);
      expect(await rowsOf(db, await parquetFiles(loaded.paths.lakeDir, 'sensor_reading'))).toEqual(before);
    } finally {
      store.client.destroy();
    }
  });
});
