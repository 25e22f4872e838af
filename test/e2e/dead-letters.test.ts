import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type Feed, feeds, rawTopic } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { bundledRegionsPath, loadCatalogFile } from '../../pipelines/catalogs/load.js';
import { Lander } from '../../pipelines/land/lander.js';
import { LocalLakeStore } from '../../pipelines/land/local-store.js';
import { ParquetWriter } from '../../pipelines/land/parquet-writer.js';
import { Normalizer } from '../../pipelines/normalize/normalizer.js';
import { PipelineWorker } from '../../pipelines/pipeline/worker.js';
import { tempDir } from '../support/hub-process.js';

const sensor = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    dev: 'GAS-330106-0001',
    kind: 'gas_methane',
    metric: 'methane',
    val: 0.8,
    unit: '%LEL',
    ts: '2026-08-01 08:00:00',
    adcode: '330106',
    ...over,
  });
const video = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    alarmId: 'HIK-1',
    cameraId: 'CAM-1',
    vendor: 'hik',
    eventCode: '890',
    score: 90,
    time: Date.UTC(2026, 7, 1),
    areaCode: '330106',
    state: 'new',
    stateTime: Date.UTC(2026, 7, 1),
    ...over,
  });
const hotline = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    orderNo: '12345-1',
    acceptTime: '2026-08-01 09:00:00',
    channel: '电话',
    type: '投诉',
    category: '城市管理/市容环境/暴露垃圾',
    street: '330106',
    state: '受理',
    caller: { name: '王小明', phone: '13900001111' },
    ...over,
  });
const event = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    caseId: 'EV-1',
    source: 'video',
    sourceRef: 'HIK-1',
    eventClass: '0101',
    adcode: '330106',
    reportTime: '2026-08-01 10:00:00',
    status: '上报',
    ...over,
  });
const dept = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    deliveryId: 'D-1',
    resourceCode: 'R1',
    dept: '330106-SJ',
    adcode: '330106',
    deliveredAt: '2026-08-01 02:00:00',
    file: 'inbox/a.csv',
    checksum: 'sha256:x',
    records: [{ 名称: '甲' }],
    ...over,
  });

/** Per feed: the bad payloads (with the reason each must be dead-lettered for), then one good payload. */
const cases: Record<Feed, { bad: [string, string][]; good: string }> = {
  sensor: {
    bad: [
      ['{"dev": "GAS-1", ', 'malformed_json'],
      [sensor({ val: 'high' }), 'invalid'],
      [sensor({ dev: undefined }), 'invalid'],
      [sensor({ ts: '2026-02-30 10:00:00' }), 'implausible_time'],
      [sensor({ ts: '2126-01-01 00:00:00' }), 'implausible_time'],
      [sensor({ adcode: '339999' }), 'unknown_region'],
      [sensor({ unit: 'furlongs' }), 'unmapped_code'],
      [sensor({ pad: 'x'.repeat(1_100_000) }), 'oversized'],
    ],
    good: sensor({ dev: 'GAS-330106-0002' }),
  },
  video: {
    bad: [
      ['not json at all', 'malformed_json'],
      [video({ score: '90' }), 'invalid'],
      [video({ eventCode: '999' }), 'unmapped_code'],
      [video({ areaCode: '110101' }), 'unknown_region'],
      [video({ time: 32503680000000 }), 'implausible_time'],
    ],
    good: video({ alarmId: 'HIK-2' }),
  },
  hotline: {
    bad: [
      ['{"orderNo":"12345-9","caller":{"name":"王小明","phone":"13900001111"', 'malformed_json'],
      [hotline({ street: 330106 }), 'invalid'],
      [hotline({ acceptTime: '2026-13-01 00:00:00' }), 'implausible_time'],
    ],
    good: hotline({ orderNo: '12345-2' }),
  },
  event: {
    bad: [
      ['[1,2', 'malformed_json'],
      [event({ eventClass: 101 }), 'invalid'],
      [event({ adcode: '339999' }), 'unknown_region'],
    ],
    good: event({ caseId: 'EV-2' }),
  },
  dept: {
    bad: [
      ['{{', 'malformed_json'],
      [dept({ deliveryId: 'D-2', adcode: '339999' }), 'unknown_region'],
    ],
    good: dept({ deliveryId: 'D-3' }),
  },
};

describe('bad records are dead-lettered with reasons; the pipeline keeps running', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await dir?.remove();
  });

  it('each bad payload lands in _dlq with its reason, good ones after them land, and received = landed + dead-lettered', async () => {
    dir = await tempDir('dlq');
    const bus = await openEmbeddedBus({ dir: join(dir.path, 'bus'), fsync: 'always' });
    for (const feed of feeds) await bus.ensureTopic(rawTopic(feed), { partitions: 2 });
    const regions = loadCatalogFile('regions', bundledRegionsPath());
    const writer = await ParquetWriter.open(dir.path);
    const options = {
      salt: 'dlq-test-salt',
      regionCodes: new Set(regions.map((r) => r.code)),
      maxPayloadBytes: 1024 * 1024,
      minEventMs: Date.UTC(2000, 0, 1),
      maxFutureSkewMs: 86_400_000,
    };
    const lander = new Lander({
      store: new LocalLakeStore(join(dir.path, 'lake')),
      writer,
      normalizers: new Map(feeds.map((f) => [rawTopic(f), new Normalizer(f, options)])),
      limits: { maxRows: 100_000, maxBytes: 1 << 30, maxAgeMs: 50 },
    });
    const worker = new PipelineWorker({
      bus,
      lander,
      topics: feeds.map(rawTopic),
      groupId: 'dlq-test',
      log: pino({ level: 'silent' }),
    });
    await worker.start();
    const producer = bus.producer();
    for (const feed of feeds) {
      // One key per feed: the good record is behind every bad one in the same partition.
      const messages = [...cases[feed].bad.map(([value]) => value), cases[feed].good].map((value) => ({
        key: feed,
        value,
      }));
      await producer.send(rawTopic(feed), messages);
    }
    await worker.drain();
    await worker.stop();
    await writer.close();
    await bus.close();

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const lake = join(dir.path, 'lake');
    for (const feed of feeds) {
      const counts = lander.stats.feeds[feed]!;
      expect(counts.received, feed).toBe(counts.landed + counts.dead_lettered);
      expect(counts.landed, `${feed}: the good record after the bad ones landed`).toBe(1);
      const rows = (
        await connection.runAndReadAll(
          `select reason_code, reason, coordinates from read_parquet('${lake}/_dlq/${feed}/*/*.parquet') order by _offset`,
        )
      ).getRows();
      expect(
        rows.map((r) => r[0]),
        feed,
      ).toEqual(cases[feed].bad.map(([, reason]) => reason));
      for (const [, reason, coordinates] of rows) {
        const issues = JSON.parse(String(reason)) as { path: string; message: string }[];
        expect(issues.length).toBeGreaterThan(0);
        expect(issues[0]!.message.length).toBeGreaterThan(0);
        expect(JSON.parse(String(coordinates))).toMatchObject({ topic: rawTopic(feed) });
      }
    }
    const hotlineDlq = (
      await connection.runAndReadAll(`select raw from read_parquet('${lake}/_dlq/hotline/*/*.parquet')`)
    ).getRows();
    expect(hotlineDlq.map((r) => String(r[0])).join('\n')).not.toMatch(/13900001111|王小明/);
    connection.closeSync();
    instance.closeSync();
  });
});
