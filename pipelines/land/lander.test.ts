import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Feed } from '../../connectors/types.js';
import { NO_HEADERS } from '../bus/headers.js';
import type { BusMessage, MessageHeaders, PartitionBatch } from '../bus/types.js';
import { Normalizer } from '../normalize/normalizer.js';
import { commaSeparatedIntegers, FlushRevokedError, inSeqOrder, Lander, type LandingLimits } from './lander.js';
import { LocalLakeStore } from './local-store.js';
import { ParquetWriter } from './parquet-writer.js';

/** The hub's clock: 01:00 on 2 Aug in Hangzhou, i.e. still 1 Aug in UTC (dead letters are dated by Shanghai day). */
const FLUSH_TIME = Date.parse('2026-08-02T01:00:00+08:00');

const relaxed: LandingLimits = { maxRows: 1_000_000, maxBytes: 1024 * 1024 * 1024, maxAgeMs: 3600_000 };

let dir: string;
let clock: number;
let writer: ParquetWriter | undefined;
let duck: { instance: DuckDBInstance; connection: DuckDBConnection } | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-land-'));
  await mkdir(join(dir, 'scratch'));
  clock = FLUSH_TIME;
});

afterEach(async () => {
  try {
    await writer?.close();
    duck?.connection.closeSync();
    duck?.instance.closeSync();
  } finally {
    writer = undefined;
    duck = undefined;
    await rm(dir, { recursive: true, force: true });
  }
});

function normalizer(feed: Feed, options: { bulk?: boolean } = {}): Normalizer {
  return new Normalizer(feed, {
    ...options,
    salt: 'hangzhou-12345-salt',
    regionCodes: new Set(['330000', '330100', '330106']),
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => clock,
  });
}

/** A lander as a (re)started pipeline makes it over `lake`: with its own normalizer, so with no dedupe memory yet. */
async function lander(
  lake: string,
  limits: LandingLimits = relaxed,
  generation?: string,
): Promise<{ lander: Lander; store: LocalLakeStore }> {
  writer ??= await ParquetWriter.open(join(dir, 'scratch'));
  const store = new LocalLakeStore(join(dir, lake));
  const normalizers = new Map([['raw.sensor', normalizer('sensor')]]);
  return {
    lander: new Lander({ store, writer, normalizers, limits, now: () => clock, ...(generation ? { generation } : {}) }),
    store,
  };
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  if (!duck) {
    const instance = await DuckDBInstance.create(':memory:');
    duck = { instance, connection: await instance.connect() };
  }
  return (await duck.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const gas = {
  dev: 'GAS-330106-0001',
  kind: 'gas_methane',
  metric: 'methane',
  val: 0.8,
  unit: 'ppm',
  ts: '2026-08-01 08:00:00',
  adcode: '330106',
  grid: '330106001001001',
  lng: 120.13,
  lat: 30.25,
};

function batch(
  partition: number,
  firstOffset: number,
  payloads: (object | string)[],
  headers: MessageHeaders = NO_HEADERS,
): PartitionBatch {
  const messages: BusMessage[] = payloads.map((payload, i) => ({
    topic: 'raw.sensor',
    partition,
    offset: firstOffset + i,
    key: typeof payload === 'string' ? null : ((payload as { dev?: string }).dev ?? null),
    value: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    timestamp: FLUSH_TIME - 60_000,
    headers,
  }));
  return { topic: 'raw.sensor', partition, highWatermark: firstOffset + payloads.length, messages };
}

/** Offsets 100–104 of raw.sensor/0: three readings over two Shanghai days, one invalid value, one broken message. */
const mixed = (): PartitionBatch =>
  batch(0, 100, [
    { ...gas, ts: '2026-07-31 23:30:00' },
    { ...gas, val: 1.2, ts: '2026-08-01 07:00:00' },
    { ...gas, val: '高', ts: '2026-08-01 07:30:00' },
    {
      ...gas,
      dev: 'DRAIN-330106-0012',
      kind: 'drain_level',
      metric: 'level',
      val: 1.25,
      unit: 'm',
      ts: '2026-08-01 08:00:00',
    },
    '{"dev":"GAS-330106-0002","val":',
  ]);

const range = 'raw.sensor~0~00000000000000000100~00000000000000000104.parquet';

describe('Lander.flush writes the lake layout of docs/lake.md', () => {
  it('writes one file per dataset and Shanghai day, named by the partition and its offset range, and returns last+1', async () => {
    const { lander: l, store } = await lander('lake');
    l.add(mixed());
    expect(await l.flush()).toEqual([{ topic: 'raw.sensor', partition: 0, offset: 105 }]);
    expect((await store.list()).sort()).toEqual([
      `_dlq/sensor/dt=2026-08-02/${range}`,
      `sensor_reading/dt=2026-07-31/${range}`,
      `sensor_reading/dt=2026-08-01/${range}`,
    ]);
  });

  it("gives each partition of a flush its own files, holding only that partition's rows, for every day", async () => {
    const { lander: l, store } = await lander('lake');
    l.add(mixed());
    l.add(
      batch(3, 7, [
        { ...gas, dev: 'GAS-330106-0300', ts: '2026-07-31 22:00:00' },
        { ...gas, dev: 'GAS-330106-0301', ts: '2026-08-01 09:00:00' },
      ]),
    );
    l.add(batch(3, 9, [{ ...gas, dev: 'GAS-330106-0302', ts: '2026-08-01 10:00:00' }]));
    expect(await l.flush()).toEqual([
      { topic: 'raw.sensor', partition: 0, offset: 105 },
      { topic: 'raw.sensor', partition: 3, offset: 10 },
    ]);
    const other = 'raw.sensor~3~00000000000000000007~00000000000000000009.parquet';
    expect((await store.list()).filter((path) => path.startsWith('sensor_reading/')).sort()).toEqual([
      `sensor_reading/dt=2026-07-31/${range}`,
      `sensor_reading/dt=2026-07-31/${other}`,
      `sensor_reading/dt=2026-08-01/${range}`,
      `sensor_reading/dt=2026-08-01/${other}`,
    ]);
    const rows = await query(
      `select _partition, _offset, device_id from '${join(dir, 'lake', 'sensor_reading', 'dt=2026-08-01', other)}' order by _offset`,
    );
    expect(rows).toEqual([
      { _partition: 3, _offset: 8n, device_id: 'GAS-330106-0301' },
      { _partition: 3, _offset: 9n, device_id: 'GAS-330106-0302' },
    ]);
  });

  it("gives each partition's dead letters their own file, dated by the flush, holding only that partition's", async () => {
    const { lander: l, store } = await lander('lake');
    l.add(mixed());
    l.add(batch(3, 7, ['{broken', { ...gas, dev: 'GAS-330106-0300', val: 'x' }, { ...gas, dev: 'GAS-330106-0301' }]));
    l.add(batch(5, 40, [{ ...gas, dev: 'GAS-330106-0500' }]));
    await l.flush();
    const other = 'raw.sensor~3~00000000000000000007~00000000000000000009.parquet';
    expect((await store.list()).filter((path) => path.startsWith('_dlq/')).sort()).toEqual([
      `_dlq/sensor/dt=2026-08-02/${range}`,
      `_dlq/sensor/dt=2026-08-02/${other}`,
    ]);
    const offsets = async (file: string) =>
      (
        await query(
          `select _partition, _offset from '${join(dir, 'lake', '_dlq', 'sensor', 'dt=2026-08-02', file)}' order by _offset`,
        )
      ).map((r) => `${r._partition}:${r._offset}`);
    expect(await offsets(range)).toEqual(['0:102', '0:104']);
    expect(await offsets(other)).toEqual(['3:7', '3:8']);
  });

  it('lands readings with canonical values and physical types DuckDB reads back (TIMESTAMPTZ, DOUBLE, BIGINT)', async () => {
    const { lander: l } = await lander('lake');
    l.add(mixed());
    await l.flush();
    const files = `read_parquet('${join(dir, 'lake')}/sensor_reading/*/*.parquet', hive_partitioning = true)`;
    const types = Object.fromEntries(
      (await query(`describe select * from ${files}`)).map((c) => [c.column_name, c.column_type]),
    );
    expect(types).toMatchObject({
      device_id: 'VARCHAR',
      value: 'DOUBLE',
      unit: 'VARCHAR',
      observed_at: 'TIMESTAMP WITH TIME ZONE',
      lon: 'DOUBLE',
      _ingested_at: 'TIMESTAMP WITH TIME ZONE',
      _topic: 'VARCHAR',
      _partition: 'INTEGER',
      _offset: 'BIGINT',
    });
    const rows = await query(
      `select device_id, metric, value, unit, observed_at, region_code, grid_code, lon, lat,
              _ingested_at, _topic, _partition, _offset, dt::varchar as dt from ${files} order by _offset`,
    );
    const common = { region_code: '330106', grid_code: '330106001001001', lon: 120.13, lat: 30.25 };
    const landing = { _ingested_at: new Date(FLUSH_TIME), _topic: 'raw.sensor', _partition: 0 };
    expect(rows).toEqual([
      {
        device_id: 'GAS-330106-0001',
        metric: 'methane',
        value: 0.0016,
        unit: '%LEL',
        observed_at: new Date('2026-07-31T15:30:00Z'),
        ...common,
        ...landing,
        _offset: 100n,
        dt: '2026-07-31',
      },
      {
        device_id: 'GAS-330106-0001',
        metric: 'methane',
        value: 0.0024,
        unit: '%LEL',
        observed_at: new Date('2026-07-31T23:00:00Z'),
        ...common,
        ...landing,
        _offset: 101n,
        dt: '2026-08-01',
      },
      {
        device_id: 'DRAIN-330106-0012',
        metric: 'level',
        value: 125,
        unit: 'cm',
        observed_at: new Date('2026-08-01T00:00:00Z'),
        ...common,
        ...landing,
        _offset: 103n,
        dt: '2026-08-01',
      },
    ]);
  });

  it('writes zstd Parquet with UTC-adjusted microsecond timestamps', async () => {
    const { lander: l } = await lander('lake');
    l.add(mixed());
    await l.flush();
    const file = join(dir, 'lake', 'sensor_reading', 'dt=2026-08-01', range);
    const codecs = await query(`select distinct compression from parquet_metadata('${file}')`);
    expect(codecs).toEqual([{ compression: 'ZSTD' }]);
    const [observed] = await query(`select logical_type from parquet_schema('${file}') where name = 'observed_at'`);
    expect(String(observed?.logical_type)).toMatch(/isAdjustedToUTC=(1|true)/i);
    expect(String(observed?.logical_type)).toMatch(/MICROS/);
  });

  it('lands every dead letter of a flush whose dead letters span many writer pieces (megabytes of raw payloads)', async () => {
    const { lander: l } = await lander('lake');
    // 300 broken messages of ~60 KB each (18 MB of raw text) over two partitions: more than two pieces' worth.
    const broken = (n: number) => `{"dev":"GAS-330106-${String(n).padStart(4, '0')}","note":"${'x'.repeat(60_000)}"`;
    l.add(
      batch(
        0,
        0,
        Array.from({ length: 150 }, (_, i) => broken(i)),
      ),
    );
    l.add(
      batch(
        1,
        0,
        Array.from({ length: 150 }, (_, i) => broken(150 + i)),
      ),
    );
    await l.flush();
    const rows = await query(
      `select _partition, count(*) as n, count(distinct _offset) as offsets, count(distinct raw) as raws,
              min(length(raw)) as shortest, max(length(raw)) as longest
         from read_parquet('${join(dir, 'lake')}/_dlq/sensor/*/*.parquet') group by _partition order by _partition`,
    );
    const size = BigInt(broken(0).length);
    expect(rows).toEqual([
      { _partition: 0, n: 150n, offsets: 150n, raws: 150n, shortest: size, longest: size },
      { _partition: 1, n: 150n, offsets: 150n, raws: 150n, shortest: size, longest: size },
    ]);
  });

  it('dead-letters the invalid and the broken message with reason, raw payload and bus coordinates', async () => {
    const { lander: l } = await lander('lake');
    const input = mixed();
    l.add(input);
    await l.flush();
    const rows = await query(
      `select feed, reason_code, reason, raw, raw_truncated, coordinates, _topic, _partition, _offset, dead_lettered_at
         from read_parquet('${join(dir, 'lake')}/_dlq/sensor/*/*.parquet', hive_partitioning = true) order by _offset`,
    );
    expect(rows).toHaveLength(2);
    const [invalid, broken] = rows as [Record<string, unknown>, Record<string, unknown>];
    expect(invalid).toMatchObject({
      feed: 'sensor',
      reason_code: 'invalid',
      raw: input.messages[2]!.value.toString('utf8'),
      raw_truncated: false,
      _topic: 'raw.sensor',
      _partition: 0,
      _offset: 102n,
      dead_lettered_at: new Date(FLUSH_TIME),
    });
    expect(JSON.parse(invalid.reason as string)).toEqual([
      { path: 'value', message: expect.stringContaining('source field "val"') },
    ]);
    expect(JSON.parse(invalid.coordinates as string)).toEqual({
      topic: 'raw.sensor',
      partition: 0,
      offset: 102,
      message_rows: 0,
    });
    expect(broken).toMatchObject({
      reason_code: 'malformed_json',
      raw: '{"dev":"GAS-330106-0002","val":',
      _offset: 104n,
    });
    expect(JSON.parse(broken.coordinates as string)).toEqual({
      topic: 'raw.sensor',
      partition: 0,
      offset: 104,
      message_rows: 0,
    });
  });

  it('counts received = landed + dead-lettered per feed, and only once the flush is committed', async () => {
    const { lander: l } = await lander('lake');
    l.add(mixed());
    expect(l.stats.feeds.sensor).toBeUndefined();
    expect(l.stats).toMatchObject({ files: 0, flushes: 0 });
    await l.flush();
    // Durable but not committed: a failed commit re-reads and re-lands these, so they are not counted yet.
    expect(l.stats).toMatchObject({ files: 0, flushes: 0 });
    expect(l.deadLettersByReason.size).toBe(0);
    await l.committed();
    expect(l.stats.feeds.sensor).toEqual({ received: 5, landed: 3, dead_lettered: 2 });
    // Per reason, counted at the same moment: they sum to dead_lettered.
    expect(l.deadLettersByReason.get('sensor')).toEqual(
      new Map([
        ['invalid', 1],
        ['malformed_json', 1],
      ]),
    );
    expect(l.stats).toMatchObject({ rows: { sensor_reading: 3 }, files: 3, flushes: 1 });
  });

  it('does not count what was abandoned after a failure (it is re-read and counted then)', async () => {
    const { lander: l, store } = await lander('lake');
    l.add(mixed());
    expect(l.buffered).toBe(true);
    l.abandon();
    expect(l.buffered).toBe(false);
    expect(await l.flush()).toEqual([]);
    expect(l.stats.feeds.sensor).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });
});

describe('_source names the connector that sent the message (its cityhub-source header)', () => {
  it('rows and dead letters carry the header; messages without one (older bus data) carry the feed', async () => {
    const { lander: l } = await lander('lake');
    const stamped = mixed();
    for (const message of stamped.messages) message.headers = { 'cityhub-source': 'sensors-east', line: '1' };
    l.add(stamped);
    l.add(batch(3, 7, [{ ...gas, dev: 'GAS-330106-0300' }, '{broken']));
    await l.flush();
    const lake = join(dir, 'lake');
    expect(
      await query(
        `select _partition, _offset, _source from read_parquet('${lake}/sensor_reading/*/*.parquet') order by _partition, _offset`,
      ),
    ).toEqual([
      { _partition: 0, _offset: 100n, _source: 'sensors-east' },
      { _partition: 0, _offset: 101n, _source: 'sensors-east' },
      { _partition: 0, _offset: 103n, _source: 'sensors-east' },
      { _partition: 3, _offset: 7n, _source: 'sensor' },
    ]);
    expect(
      await query(
        `select _partition, _offset, source from read_parquet('${lake}/_dlq/sensor/*/*.parquet') order by _partition, _offset`,
      ),
    ).toEqual([
      { _partition: 0, _offset: 102n, source: 'sensors-east' },
      { _partition: 0, _offset: 104n, source: 'sensors-east' },
      { _partition: 3, _offset: 8n, source: 'sensor' },
    ]);
  });

  it("hands each message's headers to the normalizer (a mapping reads them from its context)", async () => {
    writer ??= await ParquetWriter.open(join(dir, 'scratch'));
    // The record path normalizes as messages arrive; the bulk path hands the same headers over at the flush.
    const inner = normalizer('sensor', { bulk: false });
    const seen: MessageHeaders[] = [];
    const spy = Object.assign(Object.create(inner) as Normalizer, {
      normalize: (value: Buffer, headers: MessageHeaders) => {
        seen.push(headers);
        return inner.normalize(value, headers);
      },
    });
    const l = new Lander({
      store: new LocalLakeStore(join(dir, 'lake')),
      writer,
      normalizers: new Map([['raw.sensor', spy]]),
      limits: relaxed,
      now: () => clock,
    });
    const withTopic = { 'cityhub-source': 'mqtt-a', 'mqtt-topic': 'city/330106/gas' };
    l.add(batch(0, 0, [gas], withTopic));
    l.add(batch(1, 0, [gas]));
    expect(seen).toEqual([withTopic, NO_HEADERS]);
    expect(seen[1]).toBe(NO_HEADERS);
  });
});

describe('landing is deterministic, so a restart rewrites instead of duplicating', () => {
  it('lands the same batch in a fresh Lander under the same file names with the same rows', async () => {
    const first = await lander('lake-a');
    first.lander.add(mixed());
    await first.lander.flush();
    const second = await lander('lake-b');
    second.lander.add(mixed());
    await second.lander.flush();
    const namesA = (await first.store.list()).sort();
    expect((await second.store.list()).sort()).toEqual(namesA);
    for (const name of namesA) {
      const read = (lake: string) => query(`select * from read_parquet('${join(dir, lake, name)}') order by _offset`);
      expect(await read('lake-b')).toEqual(await read('lake-a'));
    }
  });

  it('overwrites the files of a range landed again in the same lake (no second copy)', async () => {
    const before = await lander('lake');
    before.lander.add(mixed());
    await before.lander.flush();
    const after = await lander('lake');
    after.lander.add(mixed());
    await after.lander.flush();
    expect(await after.store.list()).toHaveLength(3);
    const [{ n }] = (await query(
      `select count(*)::integer as n from read_parquet('${join(dir, 'lake')}/sensor_reading/*/*.parquet')`,
    )) as [{ n: number }];
    expect(n).toBe(3);
  });
});

describe('discardUncommitted after a crash', () => {
  it('removes files whose first offset is at or past the committed offset and staged .tmp leftovers, keeps the rest', async () => {
    const { lander: l, store } = await lander('lake');
    l.add(mixed());
    l.add(batch(1, 0, [{ ...gas, dev: 'GAS-330106-0009' }]));
    await l.flush();
    // The next range was written but the crash came before its offsets were committed.
    l.add(
      batch(0, 105, [
        { ...gas, ts: '2026-08-01 09:00:00' },
        { ...gas, val: null, ts: '2026-08-01 09:01:00' },
      ]),
    );
    await l.flush();
    const leftover = join(
      dir,
      'lake',
      'sensor_reading',
      'dt=2026-08-01',
      'raw.sensor~0~00000000000000000107~00000000000000000109.parquet.tmp',
    );
    await writeFile(leftover, 'PAR1 partial');
    const kept = [
      `_dlq/sensor/dt=2026-08-02/${range}`,
      `sensor_reading/dt=2026-07-31/${range}`,
      `sensor_reading/dt=2026-08-01/${range}`,
      'sensor_reading/dt=2026-08-01/raw.sensor~1~00000000000000000000~00000000000000000000.parquet',
    ];
    expect((await store.list()).length).toBe(kept.length + 3);

    const removed = await l.discardUncommitted([
      { topic: 'raw.sensor', partition: 0, offset: 105 },
      { topic: 'raw.sensor', partition: 1, offset: 1 },
    ]);

    expect(removed).toBe(2);
    expect((await store.list()).sort()).toEqual(kept);
    await expect(readFile(leftover)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps everything on a partition that has no committed offset given', async () => {
    const { lander: l, store } = await lander('lake');
    l.add(mixed());
    await l.flush();
    expect(await l.discardUncommitted([{ topic: 'raw.video', partition: 0, offset: 0 }])).toBe(0);
    expect(await store.list()).toHaveLength(3);
  });
});

describe('due() tells the worker when to flush', () => {
  const reading = (i: number) => ({ ...gas, ts: `2026-08-01 08:${String(i).padStart(2, '0')}:00` });

  it('is false with nothing buffered, however old', async () => {
    const { lander: l } = await lander('lake', { maxRows: 1, maxBytes: 1024, maxAgeMs: 10 });
    clock += 3600_000;
    expect(l.due()).toBe(false);
  });

  it('becomes true at maxRows buffered rows (dead letters included)', async () => {
    const { lander: l } = await lander('lake', { ...relaxed, maxRows: 3 });
    l.add(batch(0, 0, [reading(0), reading(1)]));
    expect(l.due()).toBe(false);
    l.add(batch(0, 2, ['not json']));
    expect(l.due()).toBe(true);
    await l.flush();
    expect(l.due()).toBe(false);
  });

  it('counts rows over all partitions, so memory is bounded however many partitions there are', async () => {
    const { lander: l } = await lander('lake', { ...relaxed, maxRows: 3 });
    l.add(batch(0, 0, [reading(0), reading(1)]));
    expect(l.due()).toBe(false);
    l.add(batch(1, 0, [reading(2)]));
    expect(l.due()).toBe(true);
  });

  it('becomes true at maxBytes of buffered raw payload', async () => {
    const one = Buffer.byteLength(JSON.stringify(reading(0)));
    const { lander: l } = await lander('lake', { ...relaxed, maxBytes: one * 2 });
    l.add(batch(0, 0, [reading(0)]));
    expect(l.due()).toBe(false);
    l.add(batch(0, 1, [reading(1)]));
    expect(l.due()).toBe(true);
  });

  it('becomes true once the oldest buffered message is maxAgeMs old, and the age restarts after a flush', async () => {
    const { lander: l } = await lander('lake', { ...relaxed, maxAgeMs: 5_000 });
    l.add(batch(0, 0, [reading(0)]));
    clock += 4_999;
    l.add(batch(0, 1, [reading(1)]));
    expect(l.due()).toBe(false);
    clock += 1;
    expect(l.due()).toBe(true);
    await l.flush();
    l.add(batch(0, 2, [reading(2)]));
    clock += 4_999;
    expect(l.due()).toBe(false);
  });

  it('lands the first rows after start sooner (firstMaxAgeMs), then keeps maxAgeMs once a flush is committed', async () => {
    const { lander: l } = await lander('lake', { ...relaxed, maxAgeMs: 5_000, firstMaxAgeMs: 1_000 });
    l.add(batch(0, 0, [reading(0)]));
    clock += 999;
    expect(l.due()).toBe(false);
    clock += 1;
    expect(l.due()).toBe(true);
    await l.flush();
    await l.committed();
    l.add(batch(0, 1, [reading(1)]));
    clock += 1_000;
    expect(l.due()).toBe(false);
    clock += 4_000;
    expect(l.due()).toBe(true);
  });
});

describe('a lost bus never costs the lake its files (issue 6 item 5)', () => {
  it('a new, empty bus (no committed offsets, another generation) over an existing lake keeps every landed file', async () => {
    const { lander: old, store } = await lander('lake', relaxed, 'aaaa1111');
    old.add(mixed());
    await old.flush();
    await old.committed();
    const before = (await store.list()).sort();
    expect(before.every((path) => path.endsWith('~aaaa1111.parquet'))).toBe(true);

    const { lander: fresh } = await lander('lake', relaxed, 'bbbb2222');
    expect(await fresh.discardUncommitted([{ topic: 'raw.sensor', partition: 0, offset: 0 }])).toBe(0);
    // The new bus numbers from 100 again: its files take other names, the earlier ones stay.
    fresh.add(mixed());
    await fresh.flush();
    const after = await store.list();
    for (const path of before) expect(after).toContain(path);
    expect(after.filter((path) => path.endsWith('~bbbb2222.parquet'))).toHaveLength(before.length);
  });

  it('after a crash between files and commit, only the files the journal names past the committed offset go', async () => {
    const { lander: l, store } = await lander('lake', relaxed, 'cccc3333');
    l.add(batch(0, 0, [gas]));
    await l.flush();
    await l.committed();
    l.add(mixed());
    await l.flush(); // no committed(): the crash came first
    const { lander: restarted } = await lander('lake', relaxed, 'cccc3333');
    expect(await restarted.discardUncommitted([{ topic: 'raw.sensor', partition: 0, offset: 1 }])).toBe(3);
    expect(await store.list()).toEqual([
      'sensor_reading/dt=2026-08-01/raw.sensor~0~00000000000000000000~00000000000000000000~cccc3333.parquet',
    ]);
  });
});

describe('a row the Parquet writer refuses is found and dead-lettered; the rest of the flush lands (issue 6 item 1)', () => {
  it('bisects the refused rows out, dead-letters each as writer_rejected, and keeps the counts balanced', async () => {
    const store = new LocalLakeStore(join(dir, 'lake'));
    writer ??= await ParquetWriter.open(join(dir, 'scratch'));
    const sensor = normalizer('sensor');
    // A normalizer bug that lets a lone surrogate through: the writer is the last line of defence.
    const leaky = {
      feed: 'sensor' as const,
      forgetSeen: () => sensor.forgetSeen(),
      normalize: (value: Buffer) => {
        const out = sensor.normalize(value);
        for (const row of out.rows) if (row.row.device_id === 'POISON') row.row.device_id = 'bad\ud800';
        return out;
      },
    };
    const l = new Lander({
      store,
      writer,
      normalizers: new Map([['raw.sensor', leaky]]),
      limits: relaxed,
      now: () => clock,
    });
    const readings = Array.from({ length: 40 }, (_, i) => ({
      ...gas,
      dev: i === 17 || i === 31 ? 'POISON' : `GAS-${i}`,
      ts: `2026-08-01 08:${String(i).padStart(2, '0')}:00`,
    }));
    l.add(batch(0, 0, readings));
    await l.flush();
    await l.committed();
    expect(l.stats.feeds.sensor).toEqual({ received: 40, landed: 38, dead_lettered: 2 });
    expect(l.deadLettersByReason.get('sensor')).toEqual(new Map([['writer_rejected', 2]]));
    const landed = await query(
      `select count(*)::int as n from read_parquet('${join(dir, 'lake')}/sensor_reading/*/*.parquet')`,
    );
    expect(landed[0]!.n).toBe(38);
    const dlq = await query(
      `select reason_code, _offset::int as offset from read_parquet('${join(dir, 'lake')}/_dlq/sensor/*/*.parquet') order by _offset`,
    );
    expect(dlq).toEqual([
      { reason_code: 'writer_rejected', offset: 17 },
      { reason_code: 'writer_rejected', offset: 31 },
    ]);
  });
});

describe('a lake written before flush journals existed', () => {
  it('without a journal, only files under the old names (no generation) past the committed offset are removed', async () => {
    const { lander: old, store } = await lander('lake');
    old.add(batch(0, 0, [gas]));
    await old.flush();
    old.add(mixed()); // offsets 100–104: interrupted before its commit, by a release without journals
    await old.flush();
    await rm(join(dir, 'lake', '_journal'), { recursive: true, force: true });
    const { lander: current } = await lander('lake', relaxed, 'dddd4444');
    current.add(batch(1, 0, [{ ...gas, dev: 'GAS-330106-0009' }]));
    await current.flush();
    await current.committed();
    expect(
      await current.discardUncommitted([
        { topic: 'raw.sensor', partition: 0, offset: 1 },
        { topic: 'raw.sensor', partition: 1, offset: 0 },
      ]),
    ).toBe(3);
    expect((await store.list()).sort()).toEqual([
      'sensor_reading/dt=2026-08-01/raw.sensor~0~00000000000000000000~00000000000000000000.parquet',
      'sensor_reading/dt=2026-08-01/raw.sensor~1~00000000000000000000~00000000000000000000~dddd4444.parquet',
    ]);
  });
});

describe('dedupe memory survives a restart (issue 6, also expected)', () => {
  it('a restarted lander recalls the natural keys of landed rows: a repeat is a duplicate, as without the restart', async () => {
    const { lander: before } = await lander('lake');
    before.add(mixed());
    await before.flush();
    await before.committed();

    const { lander: after } = await lander('lake');
    expect(await after.recallLanded()).toBe(3);
    // Two repeats of landed readings (one of them converted from m to cm) and one reading never seen.
    after.add(
      batch(0, 200, [
        { ...gas, ts: '2026-07-31 23:30:00' },
        {
          ...gas,
          dev: 'DRAIN-330106-0012',
          kind: 'drain_level',
          metric: 'level',
          val: 1.25,
          unit: 'm',
          ts: '2026-08-01 08:00:00',
        },
        { ...gas, ts: '2026-08-01 09:00:00' },
      ]),
    );
    await after.flush();
    await after.committed();
    expect(after.stats.feeds.sensor).toEqual({ received: 3, landed: 1, dead_lettered: 2 });
  });
});

describe('dedupe keeps arrival order while a flush waits for DuckDB (bulk path)', () => {
  it('a repeat read during the flush is the duplicate, even when it is mapped before the original', async () => {
    writer = await ParquetWriter.open(join(dir, 'scratch'));
    // The statement of the flush's last chunk (the second chunk mapped) is held until the next poll's is mapped.
    const run = writer.run.bind(writer);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    writer.run = async (sql, lane) => {
      if (sql.startsWith(`create table bulk_rows_${process.pid}_1 `)) await held;
      return run(sql, lane);
    };
    const land = new Lander({
      store: new LocalLakeStore(join(dir, 'lake')),
      writer,
      normalizers: new Map([['raw.sensor', normalizer('sensor', { bulk: true })]]),
      limits: relaxed,
      now: () => clock,
      bulkChunkMessages: 2,
    });
    const at = (ts: string) => ({ ...gas, ts: `2026-08-01 ${ts}` });
    // Offsets 100–101 are mapped as they arrive (a chunk of two); 102 at the flush (held).
    land.add(batch(0, 100, [at('07:00:00'), at('07:10:00')]));
    land.add(batch(0, 102, [at('07:20:00')]));
    const first = land.flush();
    // 103 repeats 102; 103–104 are mapped (and walked as far as arrival order allows) while 102 is held.
    land.add(batch(0, 103, [at('07:20:00'), at('07:30:00')]));
    await land.mapped();
    release();
    await first;
    await land.committed();
    await land.flush();
    await land.committed();
    expect(land.stats.feeds.sensor).toEqual({ received: 5, landed: 4, dead_lettered: 1 });
    expect(land.bulkLanded.get('sensor')).toBe(4);
    const deadLetters = await query(
      `select reason_code, coordinates from read_parquet('${join(dir, 'lake', '_dlq')}/**/*.parquet')`,
    );
    expect(deadLetters.map((d) => [d.reason_code, JSON.parse(String(d.coordinates)).offset])).toEqual([
      ['duplicate', 103],
    ]);
  });
});

describe("a chunk's mapped rows reach the walk in bus order", () => {
  it('keeps seqs and keys paired and puts them in ascending seq order whatever order DuckDB gave them in', () => {
    const seqs = [4, 9, 10];
    const keys = ['a', 'b', 'c'];
    expect(inSeqOrder(seqs, keys)).toEqual({ seqs, keys });
    expect(inSeqOrder([10, 4, 9], ['c', 'a', 'b'])).toEqual({ seqs, keys });
    expect(inSeqOrder([], [])).toEqual({ seqs: [], keys: [] });
  });

  it("reads the seqs' text as DuckDB's string_agg writes it, and refuses anything else", () => {
    expect(commaSeparatedIntegers('0,7,10,9007199254740991')).toEqual([0, 7, 10, 9007199254740991]);
    expect(commaSeparatedIntegers('42')).toEqual([42]);
    expect(commaSeparatedIntegers('')).toEqual([]);
    expect(() => commaSeparatedIntegers('1,-2')).toThrow(/not a list of integers/);
  });
});

describe('a 12345 order lands once per version, across restarts too (issue 8)', () => {
  /** docs/feeds.md "hotline": a closed order, and its version of a day later with the follow-up visit. */
  const closed = {
    orderNo: '12345-202608010001',
    acceptTime: '2026-08-01 09:12:33',
    channel: '电话',
    type: '投诉',
    category: '城市管理/市容环境/暴露垃圾',
    street: '330106',
    dept: 'CG-330106',
    state: '办结',
    updateTime: '2026-08-01 16:00:00',
    replyTime: '2026-08-01 10:02:00',
    finishTime: '2026-08-01 15:00:00',
    visit: { contacted: false },
    caller: { name: '张三', phone: '13812345678' },
  };
  const visited = {
    ...closed,
    updateTime: '2026-08-01 20:00:00',
    visit: { contacted: true, resolved: true, satisfaction: '满意' },
  };
  const { updateTime: _u, ...unversioned } = closed;

  function hotlineBatch(firstOffset: number, payloads: object[]): PartitionBatch {
    const messages: BusMessage[] = payloads.map((payload, i) => ({
      topic: 'raw.hotline',
      partition: 0,
      offset: firstOffset + i,
      key: closed.orderNo,
      value: Buffer.from(JSON.stringify(payload)),
      timestamp: FLUSH_TIME - 60_000,
      headers: NO_HEADERS,
    }));
    return { topic: 'raw.hotline', partition: 0, highWatermark: firstOffset + payloads.length, messages };
  }

  /** A (re)started pipeline's lander over the lake, with a fresh hotline normalizer (no dedupe memory). */
  async function hotlineLander(): Promise<Lander> {
    writer ??= await ParquetWriter.open(join(dir, 'scratch'));
    const store = new LocalLakeStore(join(dir, 'lake'));
    const normalizers = new Map([['raw.hotline', normalizer('hotline')]]);
    return new Lander({ store, writer, normalizers, limits: relaxed, now: () => clock });
  }

  async function land(target: Lander, batch: PartitionBatch): Promise<void> {
    target.add(batch);
    await target.flush();
    await target.committed();
  }

  it('two versions with the same status both land; a re-send of either is a duplicate, before and after a restart', async () => {
    const before = await hotlineLander();
    await land(before, hotlineBatch(0, [closed, visited, visited]));
    expect(before.stats.feeds.hotline).toEqual({ received: 3, landed: 2, dead_lettered: 1 });

    const after = await hotlineLander();
    expect(await after.recallLanded()).toBe(2);
    await land(after, hotlineBatch(3, [closed, visited]));
    expect(after.stats.feeds.hotline).toEqual({ received: 2, landed: 0, dead_lettered: 2 });
  });

  it('an order without an update time: the key recalled from the lake (a NULL field) is the one the normalizer makes', async () => {
    const before = await hotlineLander();
    await land(before, hotlineBatch(0, [unversioned]));

    const after = await hotlineLander();
    expect(await after.recallLanded()).toBe(1);
    await land(after, hotlineBatch(1, [unversioned, closed]));
    // The repeat is known after the restart; the version with an update time is another record.
    expect(after.stats.feeds.hotline).toEqual({ received: 2, landed: 1, dead_lettered: 1 });
  });

  it('recalls from files landed before updated_at existed (no such column) and still knows their repeats', async () => {
    const before = await hotlineLander();
    await land(before, hotlineBatch(0, [unversioned]));
    // Rewrite the landed file as the previous schema version wrote it: without the updated_at column.
    const folder = join(dir, 'lake', 'hotline_case', 'dt=2026-08-01');
    const [name] = await readdir(folder);
    const file = join(folder, name!);
    await query(`copy (select * exclude (updated_at) from read_parquet('${file}')) to '${file}.old' (format parquet)`);
    await rename(`${file}.old`, file);
    expect((await query(`select * from read_parquet('${file}')`))[0]).not.toHaveProperty('updated_at');

    const after = await hotlineLander();
    expect(await after.recallLanded()).toBe(1);
    await land(after, hotlineBatch(1, [unversioned, visited]));
    expect(after.stats.feeds.hotline).toEqual({ received: 2, landed: 1, dead_lettered: 1 });
  });
});

describe('a flush whose partition moved to another pipeline process (over Kafka)', () => {
  it('is given up before its journal and files are in place, and lands later from the commits', async () => {
    writer ??= await ParquetWriter.open(join(dir, 'scratch'));
    const store = new LocalLakeStore(join(dir, 'lake'));
    let owned = true;
    const l = new Lander({
      store,
      writer,
      normalizers: new Map([['raw.sensor', normalizer('sensor')]]),
      limits: relaxed,
      now: () => clock,
      generation: 'abcd1234abcd',
      owns: () => owned,
    });
    l.add(batch(0, 0, [gas]));
    owned = false; // the rebalance came while the flush was being written
    await expect(l.flush()).rejects.toBeInstanceOf(FlushRevokedError);
    expect(await store.list()).toEqual([]);
    expect(await store.listWork('_journal')).toEqual([]);
    owned = true;
    l.add(batch(0, 0, [gas]));
    await l.flush();
    expect(await store.list()).toHaveLength(1);
  });
});
