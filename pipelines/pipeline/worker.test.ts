import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/hub-process.js';
import { openEmbeddedBus } from '../bus/embedded/index.js';
import type { Bus, TopicOffset } from '../bus/types.js';
import { Lander, type LandingLimits } from '../land/lander.js';
import { LocalLakeStore } from '../land/local-store.js';
import { ParquetWriter } from '../land/parquet-writer.js';
import type { LakeStore } from '../land/store.js';
import { Normalizer } from '../normalize/normalizer.js';
import type { RetryPolicy } from '../retry.js';
import { PipelineWorker } from './worker.js';

const TOPIC = 'raw.sensor';
const GROUP = 'worker-test';
/** The hub's clock for plausibility checks: the readings below are a few hours old. */
const NOW = Date.parse('2026-08-01T18:00:00+08:00');
const FIRST_READING = Date.parse('2026-08-01T08:00:00+08:00');

/** Reading i: one of 20 devices (the bus key, so both partitions get some), observed i seconds after 08:00. */
function reading(i: number): { key: string; value: string; naturalKey: string } {
  const dev = `GAS-330106-${String(i % 20).padStart(4, '0')}`;
  const observed = FIRST_READING + i * 1000;
  // Shanghai wall-clock time, as the sensor feed sends it.
  const ts = new Date(observed + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
  const value = JSON.stringify({
    dev,
    kind: 'gas_methane',
    metric: 'methane',
    val: 0.8,
    unit: '%LEL',
    ts,
    adcode: '330106',
  });
  return { key: dev, value, naturalKey: `${dev}@${observed}` };
}

const readings = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => reading(from + i));

interface Rig {
  bus: Bus;
  lander: Lander;
  worker: PipelineWorker;
  lake: string;
  logs: { msg: string; level: number }[];
  close: () => Promise<void>;
}

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
let cleanup: (() => Promise<void>) | undefined;

afterEach(async () => {
  try {
    await cleanup?.();
  } finally {
    cleanup = undefined;
    await dir?.remove();
    dir = undefined;
  }
});

/** A real embedded bus, LocalLakeStore (optionally wrapped), ParquetWriter, sensor normalizer and worker. */
async function rig(options: {
  limits: LandingLimits;
  pollMaxMessages?: number;
  store?: (local: LocalLakeStore) => LakeStore;
  retryPolicy?: RetryPolicy;
}): Promise<Rig> {
  dir = await tempDir('worker');
  const bus = await openEmbeddedBus({ dir: join(dir.path, 'bus'), fsync: 'always' });
  await bus.ensureTopic(TOPIC, { partitions: 2 });
  const writer = await ParquetWriter.open(dir.path);
  const lake = join(dir.path, 'lake');
  const local = new LocalLakeStore(lake);
  const normalizer = new Normalizer('sensor', {
    salt: 'worker-test-salt',
    regionCodes: new Set(['330000', '330100', '330106']),
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.UTC(2000, 0, 1),
    maxFutureSkewMs: 86_400_000,
    now: () => NOW,
  });
  const lander = new Lander({
    store: options.store?.(local) ?? local,
    writer,
    normalizers: new Map([[TOPIC, normalizer]]),
    limits: options.limits,
  });
  const logs: { msg: string; level: number }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const worker = new PipelineWorker({
    bus,
    lander,
    topics: [TOPIC],
    groupId: GROUP,
    log,
    ...(options.pollMaxMessages !== undefined ? { pollMaxMessages: options.pollMaxMessages } : {}),
    ...(options.retryPolicy ? { retryPolicy: options.retryPolicy } : {}),
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await worker.stop();
    } finally {
      await writer.close();
      await bus.close();
    }
  };
  cleanup = close;
  return { bus, lander, worker, lake, logs, close };
}

async function send(bus: Bus, messages: { key: string; value: string }[]): Promise<void> {
  await bus.producer().send(
    TOPIC,
    messages.map(({ key, value }) => ({ key, value })),
  );
}

/** The group's committed offsets, read by a member that does not join the group (no rebalance of the worker). */
async function committedOffsets(bus: Bus): Promise<TopicOffset[]> {
  const reader = bus.consumer({ groupId: GROUP });
  try {
    const out: TopicOffset[] = [];
    for (const { partition } of await bus.describe(TOPIC)) {
      out.push({ topic: TOPIC, partition, offset: await reader.committed({ topic: TOPIC, partition }) });
    }
    return out;
  } finally {
    await reader.close();
  }
}

async function highWatermarks(bus: Bus): Promise<TopicOffset[]> {
  return (await bus.describe(TOPIC)).map(({ partition, highWatermark }) => ({
    topic: TOPIC,
    partition,
    offset: highWatermark,
  }));
}

/** Natural keys (device@observed epoch ms) of every sensor_reading row in the lake, with duplicates. */
async function landedKeys(lake: string): Promise<{ keys: string[]; count: number; distinct: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    try {
      const files = `read_parquet('${lake}/sensor_reading/*/*.parquet')`;
      const key = `device_id || '@' || epoch_ms(observed_at)::varchar`;
      const [counts] = (
        await connection.runAndReadAll(
          `select count(*)::integer as n, count(distinct (device_id, metric, observed_at))::integer as d from ${files}`,
        )
      ).getRowObjectsJS() as { n: number; d: number }[];
      const keys = (await connection.runAndReadAll(`select ${key} as k from ${files}`))
        .getRows()
        .map((row) => String(row[0]))
        .sort();
      return { keys, count: counts!.n, distinct: counts!.d };
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

describe('PipelineWorker', () => {
  it('a flush that fails is retried from the committed offsets; every record lands exactly once', async () => {
    const first = readings(0, 400);
    const late = readings(400, 500);
    let commits = 0;
    let halfFlushed: string[] = [];
    const r = await rig({
      // Flushes happen only when the worker is idle while draining: one flush per pass over the log.
      limits: { maxRows: 100_000, maxBytes: 1 << 30, maxAgeMs: 3600_000 },
      store: (local) => ({
        scratchDir: (id) => local.scratchDir(id),
        clearScratch: () => local.clearScratch(),
        stagingPath: (relPath) => local.stagingPath(relPath),
        list: () => local.list(),
        remove: (relPath) => local.remove(relPath),
        writeSmall: (relPath, text) => local.writeSmall(relPath, text),
        readSmall: (relPath) => local.readSmall(relPath),
        listWork: (folder) => local.listWork(folder),
        recentFiles: (folder, limit) => local.recentFiles(folder, limit),
        async commit(relPaths) {
          if (++commits > 1) return local.commit(relPaths);
          // A half-done flush: the first file is renamed into place, then the store fails.
          await local.commit(relPaths.slice(0, 1));
          halfFlushed = (await local.list()).filter((p) => p.endsWith('.parquet'));
          // More records arrive before the retry, so the retried flush covers wider offset ranges than the failed
          // one: a half-flushed file left behind would show as duplicates rather than be overwritten by name.
          await send(r.bus, late);
          throw new Error('injected: store commit failed after renaming one file');
        },
      }),
    });
    await send(r.bus, first);
    await r.worker.start();
    await r.worker.drain();
    await r.worker.stop();

    expect(commits).toBe(2);
    expect(halfFlushed).toHaveLength(1);
    const failures = r.logs.filter((l) => l.msg.startsWith('landing failed'));
    expect(failures).toHaveLength(1);

    const ends = await highWatermarks(r.bus);
    expect(ends.every((e) => e.offset > 0)).toBe(true);
    expect(ends.reduce((sum, e) => sum + e.offset, 0)).toBe(500);
    expect(await committedOffsets(r.bus)).toEqual(ends);
    await r.close();

    const landed = await landedKeys(r.lake);
    expect(landed.count).toBe(500);
    expect(landed.distinct).toBe(500);
    expect(landed.keys).toEqual([...first, ...late].map((x) => x.naturalKey).sort());
    expect(r.lander.stats.feeds.sensor).toEqual({ received: 500, landed: 500, dead_lettered: 0 });
  });

  it('drain resolves only after everything produced before it is committed', async () => {
    // Small polls and a low row limit: several flushes, each overlapping the next reads, before the log's end.
    const r = await rig({ limits: { maxRows: 60, maxBytes: 1 << 30, maxAgeMs: 3600_000 }, pollMaxMessages: 25 });
    await r.worker.start();

    await send(r.bus, readings(0, 300));
    await r.worker.drain();
    const ends = await highWatermarks(r.bus);
    expect(ends.reduce((sum, e) => sum + e.offset, 0)).toBe(300);
    expect(await committedOffsets(r.bus)).toEqual(ends);

    // A second drain: it waits for what was produced since the first, not just for the first's end offsets.
    await send(r.bus, readings(300, 450));
    await r.worker.drain();
    const later = await highWatermarks(r.bus);
    expect(later.reduce((sum, e) => sum + e.offset, 0)).toBe(450);
    expect(await committedOffsets(r.bus)).toEqual(later);

    await r.close();
    expect(r.lander.stats.flushes).toBeGreaterThan(2);
    expect(r.logs.filter((l) => l.level >= 50)).toEqual([]);
    const landed = await landedKeys(r.lake);
    expect(landed.count).toBe(450);
    expect(landed.distinct).toBe(450);
    expect(r.lander.stats.feeds.sensor).toEqual({ received: 450, landed: 450, dead_lettered: 0 });
  });
  it('resolves every concurrent drain, and rejects a drain still waiting when the worker stops', async () => {
    const r = await rig({ limits: { maxRows: 1_000, maxBytes: 1 << 30, maxAgeMs: 3600_000 } });
    await r.worker.start();
    await send(r.bus, readings(0, 100));
    await Promise.all([r.worker.drain(), r.worker.drain()]);
    expect(await committedOffsets(r.bus)).toEqual(await highWatermarks(r.bus));
    await r.close();
    await dir?.remove();

    // A lake that refuses every commit: the worker retries, so the drain cannot finish before stop.
    const failing = await rig({
      limits: { maxRows: 1_000, maxBytes: 1 << 30, maxAgeMs: 3600_000 },
      store: (local) =>
        Object.assign(Object.create(local) as LocalLakeStore, {
          commit: async () => {
            throw new Error('disk full');
          },
        }),
    });
    await failing.worker.start();
    await send(failing.bus, readings(0, 10));
    const drained = expect(failing.worker.drain()).rejects.toThrow('stopped before the bus was drained');
    await failing.close();
    await drained;
  });

  it('a full lake disk: the worker backs off, says so in health, a bounded drain gives up in time, and a stop cuts the backoff short', async () => {
    let full = true;
    const r = await rig({
      limits: { maxRows: 1_000, maxBytes: 1 << 30, maxAgeMs: 3600_000 },
      // A long backoff: the stop below must not wait it out.
      retryPolicy: { initialMs: 60_000, maxMs: 60_000, factor: 2, maxAttempts: Infinity },
      store: (local) =>
        Object.assign(Object.create(local) as LocalLakeStore, {
          commit: async (relPaths: string[]) => {
            if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            return local.commit(relPaths);
          },
        }),
    });
    await r.worker.start();
    await send(r.bus, readings(0, 10));
    await expect(r.worker.drain(500)).rejects.toMatchObject({
      name: 'DrainTimeoutError',
      lastError: expect.stringContaining('ENOSPC'),
    });
    expect(r.worker.health()).toMatchObject({ state: 'backing_off', last_error_retriable: true });
    expect(r.worker.health().failures).toBeGreaterThanOrEqual(1);
    // Nothing was committed while the disk was full: the records are still on the bus for the next start.
    expect((await committedOffsets(r.bus)).every((c) => c.offset === 0)).toBe(true);
    const stopping = Date.now();
    await r.close();
    expect(Date.now() - stopping).toBeLessThan(30_000);
    expect(r.lander.stats.feeds.sensor).toBeUndefined();
    full = false;
  });
});
