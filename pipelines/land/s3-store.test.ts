import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../connectors/dept-files/s3rver-peer.js';
import { outageRelay } from '../../test/support/outage-relay.js';
import { NO_HEADERS } from '../bus/headers.js';
import type { PartitionBatch } from '../bus/types.js';
import type { S3LakeConfig } from '../config/schema.js';
import { Normalizer } from '../normalize/normalizer.js';
import { isRetriable } from '../retry.js';
import { syncLakeMirror } from './lake-mirror.js';
import { Lander } from './lander.js';
import { ParquetWriter } from './parquet-writer.js';
import { LakeStoreError, S3LakeStore, s3Failure } from './s3-store.js';
import { contractFileName, describeLakeStoreContract } from './store-contract.js';

const BUCKET = 'city-lake';
let server: S3rverPeer;
let root: string;
let runs = 0;

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  root = await mkdtemp(join(tmpdir(), 'cityhub-s3-lake-'));
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

function config(overrides: Partial<S3LakeConfig> = {}): S3LakeConfig {
  return {
    type: 's3',
    bucket: BUCKET,
    // Each store its own prefix: one s3rver serves every test, and no test sees another's objects.
    prefix: `run-${++runs}/lake`,
    endpoint: server.endpoint,
    region: 'us-east-1',
    force_path_style: true,
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
    multipart_threshold_bytes: 64 * 1024 * 1024,
    ...overrides,
  };
}

async function s3Store(overrides: Partial<S3LakeConfig> = {}) {
  const cacheDir = await mkdtemp(join(root, 'cache-'));
  const cfg = config(overrides);
  const store = new S3LakeStore({ config: cfg, cacheDir });
  const key = (relPath: string) => `${cfg.prefix}/${relPath}`;
  const read = async (relPath: string): Promise<string | undefined> => {
    try {
      const object = await store.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key(relPath) }));
      return await object.Body!.transformToString('utf8');
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  };
  const close = async () => {
    store.client.destroy();
    await rm(cacheDir, { recursive: true, force: true });
  };
  return { store, cacheDir, key, read, close };
}

describeLakeStoreContract('S3LakeStore on s3rver', () => s3Store());

describe('S3LakeStore uploads', () => {
  it('uploads a file above the multipart threshold in parts and verifies the whole object before commit resolves', async () => {
    const s = await s3Store({ multipart_threshold_bytes: 5 * 1024 * 1024 });
    try {
      const sent: string[] = [];
      s.store.client.middlewareStack.add(
        (next, context) => (args) => {
          sent.push(context.commandName ?? '');
          return next(args);
        },
        { step: 'initialize' },
      );
      const bytes = randomBytes(9 * 1024 * 1024 + 123);
      await writeFile(await s.store.stagingPath(contractFileName), bytes);
      await s.store.commit([contractFileName]);
      // 8 MiB parts: two of them, completed, then the stored object checked.
      expect(sent).toEqual([
        'CreateMultipartUploadCommand',
        'UploadPartCommand',
        'UploadPartCommand',
        'CompleteMultipartUploadCommand',
        'HeadObjectCommand',
      ]);
      const object = await s.store.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: s.key(contractFileName) }));
      expect(Buffer.from(await object.Body!.transformToByteArray()).equals(bytes)).toBe(true);
      expect(await s.store.list()).toEqual([contractFileName]);
    } finally {
      await s.close();
    }
  });

  it('fails a commit retriably while the store is unreachable, shows nothing, and commits the whole file once it is back', async () => {
    const relay = await outageRelay(server.endpoint);
    const s = await s3Store({ endpoint: relay.endpoint });
    try {
      await writeFile(await s.store.stagingPath(contractFileName), 'PAR1 complete PAR1');
      await relay.down();
      const failure = await s.store.commit([contractFileName]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(LakeStoreError);
      expect(isRetriable(failure)).toBe(true);
      expect((failure as LakeStoreError).message).toContain(relay.endpoint);
      await relay.up();
      expect(await s.read(contractFileName)).toBeUndefined();
      await s.store.commit([contractFileName]);
      expect(await s.read(contractFileName)).toBe('PAR1 complete PAR1');
      expect(await s.store.list()).toEqual([contractFileName]);
    } finally {
      await relay.down();
      await s.close();
    }
  });

  it('refuses, not retriably, a bucket that does not exist, naming the bucket and the endpoint', async () => {
    const s = await s3Store({ bucket: 'no-such-lake' });
    try {
      await writeFile(await s.store.stagingPath(contractFileName), 'x');
      const failure = await s.store.commit([contractFileName]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(LakeStoreError);
      expect(isRetriable(failure)).toBe(false);
      expect((failure as Error).message).toContain('"no-such-lake"');
      expect((failure as Error).message).toContain(server.endpoint);
    } finally {
      await s.close();
    }
  });
});

describe('s3Failure: which S3 answers the lander retries', () => {
  const at = { bucket: BUCKET, endpoint: 'http://minio:9000', key: 'lake/x.parquet', operation: 'upload' };
  const answer = (name: string, status: number) =>
    new S3ServiceException({
      name,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status },
    });

  it('retries 5xx, throttling and damaged bytes; not a refusal of access, naming what to check', () => {
    expect(s3Failure(answer('InternalError', 500), at).retriable).toBe(true);
    expect(s3Failure(answer('ServiceUnavailable', 503), at).retriable).toBe(true);
    expect(s3Failure(answer('SlowDown', 503), at).retriable).toBe(true);
    expect(s3Failure(answer('TooManyRequests', 429), at).retriable).toBe(true);
    expect(s3Failure(answer('BadDigest', 400), at).retriable).toBe(true);
    expect(s3Failure(answer('InvalidArgument', 400), at).retriable).toBe(false);
    const denied = s3Failure(answer('AccessDenied', 403), at);
    expect(denied).toMatchObject({ retriable: false, statusCode: 403, bucket: BUCKET, endpoint: 'http://minio:9000' });
    expect(denied.message).toContain('access denied to bucket "city-lake" at http://minio:9000');
    expect(denied.message).toContain('lake.access_key_id');
  });
});

describe('syncLakeMirror (the read cache the models query)', () => {
  it('downloads new and changed Parquet objects, removes vanished ones, and does nothing when nothing changed', async () => {
    const s = await s3Store();
    const mirror = join(s.cacheDir, 'mirror');
    try {
      const day = 'sensor_reading/dt=2026-08-01';
      const files = [0, 1, 2].map((n) => `${day}/raw.sensor~${n}~00000000000000000000~00000000000000000009.parquet`);
      const dead = '_dlq/sensor/dt=2026-08-02/raw.sensor~0~00000000000000000000~00000000000000000009.parquet';
      for (const relPath of [...files, dead]) {
        await writeFile(await s.store.stagingPath(relPath), `v1 ${relPath}`);
        await s.store.commit([relPath]);
      }
      await s.store.writeSmall('_journal/gen.json', '{}');
      // A file of the mirror whose object is gone from the bucket (removed as uncommitted by a restarted lander).
      await mkdir(join(mirror, 'video_event/dt=2026-07-01'), { recursive: true });
      await writeFile(join(mirror, 'video_event/dt=2026-07-01/gone.parquet'), 'stale');

      const first = await syncLakeMirror(s.store, mirror);
      expect(first).toMatchObject({ checked: 4, downloaded: 4, removed: 1 });
      for (const relPath of [...files, dead])
        expect(await readFile(join(mirror, relPath), 'utf8')).toBe(`v1 ${relPath}`);
      await expect(readFile(join(mirror, 'video_event/dt=2026-07-01/gone.parquet'))).rejects.toThrow();
      await expect(readFile(join(mirror, '_journal/gen.json'))).rejects.toThrow();

      expect(await syncLakeMirror(s.store, mirror)).toMatchObject({ checked: 4, downloaded: 0, removed: 0 });

      // Landed again after a crash: the same name and size, other bytes.
      await s.store.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: s.key(files[1]!), Body: `v2 ${files[1]}` }),
      );
      await s.store.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: s.key(files[2]!) }));
      const added = `${day}/raw.sensor~3~00000000000000000000~00000000000000000009.parquet`;
      await writeFile(await s.store.stagingPath(added), 'v1 new');
      await s.store.commit([added]);

      const progress: boolean[] = [];
      const third = await syncLakeMirror(s.store, mirror, {
        progressEvery: 2,
        onProgress: (_, done) => progress.push(done),
      });
      expect(third).toMatchObject({ checked: 4, downloaded: 2, removed: 1 });
      expect(progress).toEqual([false, false, true]);
      expect(await readFile(join(mirror, files[1]!), 'utf8')).toBe(`v2 ${files[1]}`);
      expect(await readFile(join(mirror, added), 'utf8')).toBe('v1 new');
      expect((await readdir(join(mirror, day))).sort()).toEqual(
        [files[0]!, files[1]!, added].map((f) => f.slice(day.length + 1)).sort(),
      );
    } finally {
      await s.close();
    }
  });
});

/** The hub's clock: 1 Aug 2026, 10:00 in Hangzhou. */
const NOW = Date.parse('2026-08-01T10:00:00+08:00');

function sensorBatch(firstOffset: number, devices: string[]): PartitionBatch {
  return {
    topic: 'raw.sensor',
    partition: 0,
    highWatermark: firstOffset + devices.length,
    messages: devices.map((dev, i) => ({
      topic: 'raw.sensor',
      partition: 0,
      offset: firstOffset + i,
      key: dev,
      value: Buffer.from(
        JSON.stringify({
          dev,
          kind: 'gas_methane',
          metric: 'methane',
          val: 0.8,
          unit: 'ppm',
          ts: `2026-08-01 08:0${i}:00`,
          adcode: '330106',
          grid: '330106001001001',
          lng: 120.13,
          lat: 30.25,
        }),
      ),
      timestamp: NOW - 60_000,
      headers: NO_HEADERS,
    })),
  };
}

describe('Lander on the S3 lake', () => {
  let writer: ParquetWriter;
  beforeAll(async () => {
    const scratch = join(root, 'writer');
    await mkdir(scratch, { recursive: true });
    writer = await ParquetWriter.open(scratch);
  });
  afterAll(() => writer?.close());

  const lander = (store: S3LakeStore) =>
    new Lander({
      store,
      writer,
      normalizers: new Map([
        [
          'raw.sensor',
          new Normalizer('sensor', {
            salt: 'hangzhou-12345-salt',
            regionCodes: new Set(['330000', '330100', '330106']),
            maxPayloadBytes: 1024 * 1024,
            minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
            maxFutureSkewMs: 24 * 3600_000,
            now: () => NOW,
          }),
        ],
      ]),
      limits: { maxRows: 1_000_000, maxBytes: 1024 * 1024 * 1024, maxAgeMs: 3600_000 },
      generation: 'c0ffee00-1234-4abc-8def-000000000000',
      now: () => NOW,
    });

  it('keeps the batch through an outage (retriable, no offsets), then lands Parquet DuckDB reads from the mirror', async () => {
    const relay = await outageRelay(server.endpoint);
    const s = await s3Store({ endpoint: relay.endpoint });
    const devices = ['GAS-330106-0001', 'GAS-330106-0002', 'GAS-330106-0003'];
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const l = lander(s.store);
      l.add(sensorBatch(40, devices));
      await relay.down();
      const failure = await l.flush().catch((error: unknown) => error);
      expect(isRetriable(failure)).toBe(true);
      await relay.up();
      // Nothing in the bucket: only the staged file, still local, which the restart below discards.
      expect(await s.store.list()).toEqual([
        'sensor_reading/dt=2026-08-01/raw.sensor~0~00000000000000000040~00000000000000000042~c0ffee001234.parquet.tmp',
      ]);

      // What the pipeline worker does after a failed flush: forget the buffer, read again from the committed offset.
      l.abandon();
      await l.discardUncommitted([{ topic: 'raw.sensor', partition: 0, offset: 40 }]);
      l.add(sensorBatch(40, devices));
      expect(await l.flush()).toEqual([{ topic: 'raw.sensor', partition: 0, offset: 43 }]);
      await l.committed();
      expect(await s.store.readSmall('_journal/c0ffee001234.json')).toBeUndefined();

      const mirror = join(s.cacheDir, 'mirror');
      await syncLakeMirror(s.store, mirror);
      const rows = (
        await connection.runAndReadAll(
          `select device_id, _offset, cast(dt as varchar) as dt from read_parquet('${mirror}/sensor_reading/*/*.parquet', hive_partitioning = true) order by _offset`,
        )
      ).getRowObjectsJS();
      expect(rows).toEqual(devices.map((device_id, i) => ({ device_id, _offset: BigInt(40 + i), dt: '2026-08-01' })));
    } finally {
      connection.closeSync();
      instance.closeSync();
      await relay.down();
      await s.close();
    }
  });
});
