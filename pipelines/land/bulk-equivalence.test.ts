/**
 * The bulk path against the record path (issue 12): the same messages — generated valid records of every feed with
 * variations in every field, the hostile corpus, duplicates, late records — landed once with `bulk: true` and once
 * with `bulk: false` give the same lake files (same names, every column of every row) and the same dead letters
 * (reason, issues, raw text, coordinates), and the same counts. A test that could pass with the bulk path idle is
 * worthless, so it also checks that the bulk path landed most valid records.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/ingest/payload-set.js';
import { type Feed, rawTopic } from '../../connectors/types.js';
import { hostileBodies, validPayload } from '../../test/support/hostile-corpus.js';
import { NO_HEADERS } from '../bus/headers.js';
import type { BusMessage, BusProducer, MessageHeaders, PartitionBatch } from '../bus/types.js';
import { configuredMapping } from '../mapping/index.js';
import { ConnectorDeadLetterReader, deadLetterTopic } from '../normalize/connector-dead-letter.js';
import { Normalizer } from '../normalize/normalizer.js';
import { PersonalDataMasker } from '../privacy/masker.js';
import { maskingProducer, UNMASKABLE_KEY } from '../privacy/masking-producer.js';
import { Lander, type MessageNormalizer } from './lander.js';
import { LocalLakeStore } from './local-store.js';
import { ParquetWriter } from './parquet-writer.js';

const NOW = Date.parse('2026-08-05T12:00:00+08:00');
const FEEDS: Feed[] = ['sensor', 'video', 'event', 'hotline', 'dept'];
const PARTITIONS = 3;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-bulk-eq-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A sensor vendor nesting its readings (a source mapping of the sensor feed): paths into objects and arrays under
 * top-level keys, whose parents come as objects, strings (JSON text among them), arrays, numbers, null, or missing.
 */
const NESTED_SOURCE = 'nested-vendor';
const nestedDir = mkdtempSync(join(tmpdir(), 'cityhub-bulk-eq-mapping-'));
afterAll(() => rmSync(nestedDir, { recursive: true, force: true }));
const nestedMappingFile = join(nestedDir, 'nested.yaml');
writeFileSync(
  nestedMappingFile,
  `dataset: sensor_reading
description: a vendor nesting its readings
fields:
  device_id: info.dev
  device_type: info.kind
  metric: data.metric
  value: data.val
  unit: data.unit
  observed_at: { path: data.ts, type: time }
  region_code: where.code
  lon: pos[0]
  lat: pos[1]
measurement: { value: value, unit: unit, metric: metric }
`,
);
const nestedVariants: ((nested: Record<string, unknown>) => Record<string, unknown> | string)[] = [
  (n) => ({ ...n, info: JSON.stringify(n.info) }),
  (n) => ({ ...n, info: 'abc' }),
  (n) => ({ ...n, info: null }),
  (n) => ({ ...n, info: [n.info] }),
  (n) => ({ ...n, info: 7 }),
  (n) => ({ ...n, info: {} }),
  (n) => ({ ...n, data: { ...(n.data as object), val: '1.5' } }),
  (n) => ({ ...n, data: { ...(n.data as object), val: null } }),
  (n) => ({ ...n, where: { code: 330106 } }),
  (n) => ({ ...n, where: '{"code":"330106"}' }),
  (n) => ({ ...n, pos: { 0: 120, 1: 30 } }),
  (n) => ({ ...n, pos: '[120,30]' }),
  (n) => ({ ...n, pos: [] }),
  (n) => ({ ...n, pos: [121.5, 'x'] }),
  (n) => JSON.stringify(n).replace('"metric":"methane"', '"metric":"pressure","metric":"methane"'),
  (n) => JSON.stringify(n).replace('"info":{', '"info":{"dev":"GAS-DUP",'),
];
function nestedPayload(i: number, rnd: () => number): string {
  const flat = JSON.parse(validPayload.sensor(i)) as Record<string, unknown>;
  const nested = {
    info: { dev: `${flat.dev as string}-${i % 7}`, kind: flat.kind },
    data: { metric: flat.metric, val: flat.val, unit: i % 3 === 0 ? 'ppm' : flat.unit, ts: flat.ts },
    where: { code: flat.adcode },
    pos: [120 + (i % 10) / 10, 30],
  };
  if (rnd() >= 0.5) return JSON.stringify(nested);
  const variant = pick(rnd, nestedVariants)(nested);
  return typeof variant === 'string' ? variant : JSON.stringify(variant);
}

type Variant = (record: Record<string, unknown>, rnd: () => number) => Record<string, unknown> | string;
const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

/** Time texts of every kind a vendor sends: good local times, fractions, zoned, epoch, impossible and late ones. */
const localTimes = (rnd: () => number, i: number): unknown =>
  pick(rnd, [
    `2026-08-0${1 + (i % 4)} ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}`,
    `2026-08-01T0${i % 10}:00:00.${String(i % 1000).padStart(3, '0')}`,
    `2026-08-01 01:02:03.0005`,
    `2026-08-01 01:02`,
    `2026-08-01T08:00:00+08:00`,
    `2026-08-01T00:00:00Z`,
    Date.UTC(2026, 7, 1, 0, i % 60),
    String(Date.UTC(2026, 7, 1, 0, i % 60)),
    `2026-02-29 10:00:00`,
    `2026-13-01 10:00:00`,
    `1999-12-31 23:59:59`,
    `2026-08-07 12:00:00`,
    `2026-08-06 11:00:00`,
    ` 2026-08-01 10:00:00`,
    `2026/08/01 10:00:00`,
    1.5e12,
    // Numbers no epoch reads alike unless both paths check them: a fraction, an exponent, beyond 2^53, negative.
    1785542400000.5,
    1.5e21,
    2 ** 64,
    -1,
    null,
    '',
    true,
    { at: 1 },
  ]);

/** JSON number texts (and two strings) for a numeric key, written as they come, not as JSON.stringify writes them. */
const RAW_NUMBERS = [
  '1.0',
  '1e3',
  '1E-7',
  '2.50',
  '0.30000000000000004',
  '0.1000000000000000055511151231257827',
  '123456789012345678901234567890',
  '9007199254740993',
  '18446744073709551616',
  '-9223372036854775809',
  '4.9e-324',
  '2.2250738585072011e-308',
  '1.7976931348623157e308',
  '1.7976931348623159e308',
  '1e400',
  '1e-400',
  '-1e-400',
  '12',
  '""',
  '" "',
];

const variants: Record<'sensor' | 'video' | 'event' | 'hotline', Variant[]> = {
  sensor: [
    (r, rnd) => ({
      ...r,
      val: pick(rnd, [0, 1, -1.5, 400, 12.25, 1e-9, 123456789.123, 3, '12', '1e3', ' 5', null, true]),
    }),
    (r, rnd) => ({
      ...r,
      unit: pick(rnd, ['ppm', '%LEL', '%VOL', 'kPa', 'MPa', '℃', '℉', 'Pa', 'cm', 'furlong', '', null]),
    }),
    // A metric with units of its own dimension: conversions with a scale and a shift (℉ → ℃), and none (K).
    (r, rnd) => ({
      ...r,
      ...pick(rnd, [
        { metric: 'temperature', unit: pick(rnd, ['℉', '°F', '℃', 'K']) },
        { metric: 'pressure', unit: pick(rnd, ['kPa', 'bar', 'Pa', 'MPa']) },
        { metric: 'level', unit: pick(rnd, ['mm', 'm', 'cm']) },
        { metric: 'flow', unit: pick(rnd, ['L/s', 'm³/h', 'm3/h']) },
      ]),
      val: pick(rnd, [-40, 32, 98.6, 0.1, 212.5, 1e6, 7]),
    }),
    (r, rnd) => ({
      ...r,
      metric: pick(rnd, [
        'methane',
        'pressure',
        'level',
        'temperature',
        'unknown_metric',
        'a..b',
        'x//y',
        '中文指标',
        '',
      ]),
    }),
    (r, rnd) => ({ ...r, ts: localTimes(rnd, Math.floor(rnd() * 1000)) }),
    (r, rnd) => ({ ...r, adcode: pick(rnd, ['330106', '330100', '339999', 330106, '33010', '３３０１０６']) }),
    (r, rnd) => ({ ...r, grid: pick(rnd, ['330106001001001', '33010600100100', 330106001001001, null, '']) }),
    (r, rnd) => ({
      ...r,
      lng: pick(rnd, [120.1, -180, 180, 180.0001, '120.1', null]),
      lat: pick(rnd, [30.2, 90, -91, 0.5]),
    }),
    // Numbers as vendors write them, not as JS writes them back (the bulk path reads these keys as DOUBLE): digits
    // past a double's precision, past 64 bits, subnormals, overflow and underflow, empty text.
    (r, rnd) =>
      JSON.stringify({ ...r, val: 0, lat: 0 })
        .replace('"val":0', `"val":${pick(rnd, RAW_NUMBERS)}`)
        .replace('"lat":0', `"lat":${pick(rnd, RAW_NUMBERS)}`),
    (r, rnd) => ({
      ...r,
      dev: pick(rnd, ['GAS-1', 'GAS 1', '-GAS', 'GAS..1', '设备甲', 'x'.repeat(64), 'x'.repeat(65), '𠀀设备', 7]),
    }),
    (r) => ({ ...r, extra: { nested: [1, 2, { deep: true }] } }),
    (r) => {
      const { lng, lat, ...rest } = r;
      void lng;
      void lat;
      return rest;
    },
    (r) => JSON.stringify(r).replace('{', '{"dev":"DUP-KEY",'), // a duplicate key (JSON.parse keeps the last)
    (r) => JSON.stringify(r).replace(/}$/, ',}'), // a trailing comma
    (r) => JSON.stringify(r).replace(/"val":[^,}]*/, '"val":-0'),
    (r) => JSON.stringify(r).replace(/"val":[^,}]*/, '"val":-0.0'),
    (r) => JSON.stringify(r).replace(/"val":[^,}]*/, '"val":NaN'),
    (r) => JSON.stringify(r).replace(/"val":[^,}]*/, '"val":1E2'),
    (r) => JSON.stringify(r).replace('"dev":"', '"dev":"\\u8bbe'), // an escaped CJK character
    (r) => JSON.stringify(r).replace('"dev":"', '"dev":"\\u0041'), // an escaped ASCII character
    (r) => `  ${JSON.stringify(r)} `,
    (r) => JSON.stringify(r, null, 1), // pretty-printed (line breaks between tokens)
    (r) => JSON.stringify(r).replace(':', ':\t'),
  ],
  video: [
    (r, rnd) => ({ ...r, score: pick(rnd, [0, 50, 100, 101, -1, 99.5, '90', null]) }),
    (r, rnd) => JSON.stringify({ ...r, score: 0 }).replace('"score":0', `"score":${pick(rnd, RAW_NUMBERS)}`),
    (r, rnd) => ({
      ...r,
      vendor: pick(rnd, ['hik', 'dh', 'unknown', '', 7]),
      eventCode: pick(rnd, ['890', 890, 'STREET_VENDOR', 902.5, null]),
    }),
    (r, rnd) => ({ ...r, state: pick(rnd, ['new', 'confirmed', 'closed', 'open', '', null]) }),
    (r, rnd) => ({
      ...r,
      time: localTimes(rnd, Math.floor(rnd() * 1000)),
      stateTime: localTimes(rnd, Math.floor(rnd() * 1000)),
    }),
    (r, rnd) => ({
      ...r,
      picUrl: pick(rnd, [
        'https://img.example.com/a/b.jpg',
        'http://10.0.0.1:8080/x?y=1',
        'not a url',
        'ftp://x',
        'https://例子.中国/a',
        null,
      ]),
    }),
    (r, rnd) => ({ ...r, areaCode: pick(rnd, ['330106', '339999', '']) }),
    (r, rnd) => ({ ...r, lng: pick(rnd, [120.5, 200, '120']), lat: pick(rnd, [30.5, null]) }),
  ],
  // Applied after the masker (see messagesOf): what the bus may hold in the caller's phone besides a good token.
  hotline: [
    (r, rnd) => ({
      ...r,
      caller: {
        name: '[name]',
        phone: pick(rnd, [
          `hmac-sha256:k1:${'ab'.repeat(32)}`,
          `hmac-sha256:k1:${'AB'.repeat(32)}`,
          `hmac-sha256:${'k'.repeat(33)}:${'ab'.repeat(32)}`,
          `hmac-sha256:k1:${'ab'.repeat(32)}\n`,
          ` hmac-sha256:k1:${'ab'.repeat(32)}`,
          `hmac-sha256:k1:${'ab'.repeat(31)}`,
          `hmac-sha256:k.1-_:${'0'.repeat(64)}`,
          '13800000000',
          13800000000,
          '',
          null,
          true,
          { n: 1 },
        ]),
      },
    }),
    (r) => ({ ...r, caller: undefined }),
    (r, rnd) => ({ ...r, street: pick(rnd, ['330106', '339999', 330106]) }),
    (r, rnd) => ({ ...r, acceptTime: localTimes(rnd, Math.floor(rnd() * 1000)) }),
    (r, rnd) => ({ ...r, channel: pick(rnd, ['电话', '网站', 'APP', '未知渠道', '']) }),
    // A valid order beside the masker's own key: the record path dead-letters it as unmaskable.
    (r) => ({ ...r, [UNMASKABLE_KEY]: { reason_code: 'malformed_json', message: 'not JSON', preview: '{' } }),
  ],
  event: [
    (r, rnd) => ({ ...r, status: pick(rnd, ['上报', '立案', '派遣', '结案', '作废', 'reported', '未知', null]) }),
    (r, rnd) => ({ ...r, source: pick(rnd, ['video', 'sensor', 'grid', 'radio', '']) }),
    (r, rnd) => ({ ...r, reportTime: localTimes(rnd, Math.floor(rnd() * 1000)) }),
    (r, rnd) => ({
      ...r,
      dispatchTime: localTimes(rnd, Math.floor(rnd() * 1000)),
      deadline: pick(rnd, ['2027-01-01 00:00:00', '2030-12-31 23:59:59', 'soon']),
    }),
    (r, rnd) => ({ ...r, eventClass: pick(rnd, ['0101', '101', 101, '01010']) }),
    (r, rnd) => ({
      ...r,
      gridCode: pick(rnd, ['330106001001001', 'x']),
      sourceRef: pick(rnd, ['HIK-1', 'y'.repeat(64), 'y'.repeat(65), '𠀀'.repeat(32), '𠀀'.repeat(33)]),
    }),
  ],
};

/**
 * A hotline payload as the bus holds it: masked by the hub's masking producer (the phone a keyed-hash token, names
 * replaced, an unparseable payload an envelope), with the key the normalizers get.
 */
const maskedForBus = (() => {
  let sent: Buffer | undefined;
  const capture = {
    send: async (_topic: string, messages: { value: Buffer | string }[]) => {
      sent = messages[0]!.value as Buffer;
      return [];
    },
    close: async () => {},
  } as BusProducer;
  const producer = maskingProducer(
    capture,
    new PersonalDataMasker({ id: 'k1', key: 'equivalence-salt' }),
    new Set<Feed>(['hotline']),
  );
  return (value: Buffer): Buffer => {
    void producer.send(rawTopic('hotline'), [{ value }]);
    return sent!;
  };
})();

/**
 * Messages of a feed: valid records, each variant applied to some, exact re-sends and the hostile corpus. Hotline
 * messages are masked as the bus holds them (a few are left in clear: the record path hashes those), and its variants
 * are applied after the masker.
 */
function messagesOf(feed: Feed, seed: number): { value: Buffer; headers: MessageHeaders }[] {
  const rnd = seededRandom(seed);
  const out: { value: Buffer; headers: MessageHeaders }[] = [];
  const headers = (i: number): MessageHeaders =>
    i % 5 === 0 ? NO_HEADERS : { 'cityhub-source': `${feed}-src-${i % 2}` };
  const featureVariants = variants[feed as keyof typeof variants] ?? [];
  for (let i = 0; i < 400; i++) {
    let valid = validPayload[feed](i);
    if (feed === 'hotline' && rnd() < 0.9) valid = maskedForBus(Buffer.from(valid)).toString();
    const base = JSON.parse(valid) as Record<string, unknown>;
    let payload: Record<string, unknown> | string = base;
    if (featureVariants.length > 0 && rnd() < 0.6) payload = pick(rnd, featureVariants)(base, rnd);
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    out.push({ value: Buffer.from(text), headers: headers(i) });
    // Exact re-sends (duplicates) and late re-sends after other records.
    if (rnd() < 0.05) out.push({ value: Buffer.from(text), headers: headers(i + 1) });
    if (rnd() < 0.03 && out.length > 10) out.push(out[Math.floor(rnd() * (out.length - 1))]!);
  }
  if (feed === 'sensor') {
    for (let i = 0; i < 200; i++)
      out.push({ value: Buffer.from(nestedPayload(i, rnd)), headers: { 'cityhub-source': NESTED_SOURCE } });
  }
  for (const body of hostileBodies(feed, { hugeBodies: false })) {
    const value = Buffer.isBuffer(body) ? body : Buffer.from(body);
    out.push({ value: feed === 'hotline' ? maskedForBus(value) : value, headers: NO_HEADERS });
  }
  return out;
}

function normalizers(bulk: boolean, broken = false): Map<string, MessageNormalizer> {
  const map = new Map<string, MessageNormalizer>();
  for (const feed of FEEDS) {
    const normalizer = new Normalizer(feed, {
      salt: 'equivalence-salt',
      regionCodes: new Set(['330000', '330100', '330106']),
      maxPayloadBytes: 1024 * 1024,
      minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
      maxFutureSkewMs: 24 * 3600_000,
      dedupeWindow: 50,
      dataResources: [],
      ...(feed === 'sensor'
        ? {
            sourceMappings: new Map([
              [
                NESTED_SOURCE,
                configuredMapping(nestedMappingFile, 'sensor', { regions: [], devices: [], data_resources: [] }),
              ],
            ]),
          }
        : {}),
      bulk,
      now: () => NOW,
    });
    if (broken) {
      // A plan whose statement DuckDB refuses (as a bug in the SQL would be): its messages must take the record path.
      const bulkPlanFor = normalizer.bulkPlanFor.bind(normalizer);
      normalizer.bulkPlanFor = (chunk, start, end, headers) => {
        const plan = bulkPlanFor(chunk, start, end, headers);
        return plan && Object.assign(Object.create(plan), { selectSql: () => 'select no_such_column from range(1)' });
      };
    }
    map.set(rawTopic(feed), normalizer);
    map.set(deadLetterTopic(feed), new ConnectorDeadLetterReader(feed));
  }
  return map;
}

/**
 * Lands every message of every feed over PARTITIONS partitions, in polls of mixed sizes, flushing now and then.
 * `chunk`: the bulk path maps a plan's messages in chunks of this many while they arrive (several statements in
 * flight at once, their rows merged in arrival order). `abandonAfter`: that many polls are added, then abandoned (as
 * the worker does after a failure, chunks still mapping) and everything is read again from the start. `asWorker`: as
 * the pipeline worker does, a flush is not awaited before the next polls are added (only before the next flush), and
 * the event loop turns between polls, so chunks finish mapping and are walked while polls arrive and flushes run.
 */
async function land(
  bulk: boolean,
  seed: number,
  {
    broken = false,
    chunk,
    abandonAfter,
    asWorker = false,
  }: { broken?: boolean; chunk?: number | undefined; abandonAfter?: number; asWorker?: boolean } = {},
): Promise<{ lake: string; lander: Lander; writer: ParquetWriter }> {
  const lake = join(dir, bulk ? (broken ? 'broken' : 'bulk') : 'record');
  await mkdir(join(lake, 'scratch'), { recursive: true });
  const writer = await ParquetWriter.open(join(lake, 'scratch'));
  const lander = new Lander({
    store: new LocalLakeStore(join(lake, 'lake')),
    writer,
    normalizers: normalizers(bulk, broken),
    limits: { maxRows: 1_000_000, maxBytes: 1 << 30, maxAgeMs: 3_600_000 },
    generation: 'gen-1',
    now: () => NOW,
    ...(chunk === undefined ? {} : { bulkChunkMessages: chunk }),
  });
  const steps = pollsOf(seed);
  if (abandonAfter !== undefined) {
    const polls = steps.slice(0, abandonAfter);
    expect(polls.every((step) => step !== 'flush')).toBe(true);
    for (const step of polls) if (step !== 'flush') lander.add(step);
    lander.abandon();
  }
  let inFlight: Promise<void> | undefined;
  const turns = seededRandom(seed + 7);
  for (const step of steps) {
    if (step === 'flush') {
      await inFlight;
      inFlight = lander.flush().then(() => lander.committed());
      if (!asWorker) await inFlight;
    } else {
      lander.add(step);
      // Sometimes until every chunk is mapped (and walked), sometimes one turn of the event loop.
      if (asWorker) await (turns() < 0.5 ? lander.mapped() : new Promise((turned) => setImmediate(turned)));
    }
  }
  await inFlight;
  await lander.flush();
  await lander.committed();
  return { lake: join(lake, 'lake'), lander, writer };
}

/** Every message of every feed over PARTITIONS partitions, in polls of mixed sizes, with flushes now and then. */
function pollsOf(seed: number): (PartitionBatch | 'flush')[] {
  const rnd = seededRandom(seed + 1);
  const steps: (PartitionBatch | 'flush')[] = [];
  const offsets = new Map<string, number>();
  const pending = FEEDS.map((feed) => ({ feed, messages: messagesOf(feed, seed) }));
  while (pending.some((p) => p.messages.length > 0)) {
    for (const p of pending) {
      const take = p.messages.splice(0, 1 + Math.floor(rnd() * 60));
      if (take.length === 0) continue;
      const partition = Math.floor(rnd() * PARTITIONS);
      const topic = rawTopic(p.feed);
      const key = `${topic}~${partition}`;
      const first = offsets.get(key) ?? 0;
      offsets.set(key, first + take.length);
      const messages: BusMessage[] = take.map((m, i) => ({
        topic,
        partition,
        offset: first + i,
        key: null,
        value: m.value,
        timestamp: NOW,
        headers: m.headers,
      }));
      steps.push({ topic, partition, messages, highWatermark: first + take.length });
    }
    if (rnd() < 0.2) steps.push('flush');
  }
  return steps;
}

async function parquetFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) out.push(relative(root, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/** Every row of every file, every column, as text (so -0 and 0, or two timestamps, are told apart). */
async function contents(lake: string): Promise<Map<string, string[]>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const out = new Map<string, string[]>();
  for (const file of await parquetFiles(lake)) {
    const reader = await connection.runAndReadAll(
      `select * from read_parquet('${join(lake, file).replaceAll("'", "''")}') order by all`,
    );
    out.set(
      file,
      reader.getRowObjectsJson().map((row) => JSON.stringify(row, (_k, v) => (Object.is(v, -0) ? '-0' : v))),
    );
  }
  connection.closeSync();
  instance.closeSync();
  return out;
}

type Landed = Awaited<ReturnType<typeof land>>;

/** Closes both writers, then: the same lake files, every column of every row, the same counts and dead letters. */
async function expectSameLanding(record: Landed, bulk: Landed): Promise<void> {
  await Promise.all([record.writer.close(), bulk.writer.close()]);
  const [a, b] = await Promise.all([contents(record.lake), contents(bulk.lake)]);
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [file, rows] of a) expect(b.get(file), file).toEqual(rows);
  expect(bulk.lander.stats).toEqual(record.lander.stats);
  expect(bulk.lander.deadLettersByReason).toEqual(record.lander.deadLettersByReason);
}

describe('the bulk path lands exactly what the record path lands', () => {
  // Seed 1 maps each flush's messages at the flush; seeds 2 and 3 in small chunks while they arrive.
  it.each([
    [1, undefined],
    [2, 7],
    [3, 53],
  ])('seed %i (chunks of %s): same files, rows, dead letters and counts', async (seed, chunk) => {
    const record = await land(false, seed);
    const bulk = await land(true, seed, { chunk });
    await expectSameLanding(record, bulk);
    // No statement refused its chunk (the record path would have taken it, hiding a broken statement).
    expect(bulk.lander.bulkFallbacks).toBe(0);
    // Not vacuous: most valid sensor, video, event and (masked) hotline records took the bulk path, and the corpus
    // the record path.
    for (const feed of ['sensor', 'video', 'event', 'hotline'] as const) {
      const landed = record.lander.stats.feeds[feed]!.landed;
      expect(landed).toBeGreaterThan(100);
      expect(bulk.lander.bulkLanded.get(feed) ?? 0, feed).toBeGreaterThan(landed * 0.5);
    }
    // The hotline's own traps were there: clear phones hashed and a valid order beside the masker's key set aside.
    expect(bulk.lander.bulkLanded.get('hotline')).toBeLessThan(record.lander.stats.feeds.hotline!.landed);
    expect(record.lander.deadLettersByReason.get('hotline')?.size ?? 0).toBeGreaterThan(2);
  });
});

describe('polls added while the previous flush is written, as the worker adds them', () => {
  it('land what the record path lands, messages walked as their chunks are mapped, dedupe in arrival order', async () => {
    const record = await land(false, 6);
    const bulk = await land(true, 6, { chunk: 11, asWorker: true });
    await expectSameLanding(record, bulk);
    // Not vacuous: most messages were normalized before their flush began, and repeats of a record landed in an
    // earlier flush were there (dedupe across flushes, while the earlier flush was still walking its messages).
    const received = Object.values(bulk.lander.stats.feeds).reduce((n, counts) => n + counts.received, 0);
    expect(bulk.lander.walkedAhead).toBeGreaterThan(received / 2);
    expect(record.lander.deadLettersByReason.get('sensor')?.get('duplicate') ?? 0).toBeGreaterThan(10);
  });
});

describe('a flush abandoned while its chunks are being mapped', () => {
  it('lands what the record path lands once everything is read again, and leaves no mapped table behind', async () => {
    const record = await land(false, 5);
    const steps = pollsOf(5);
    const beforeFlush = steps.indexOf('flush');
    expect(beforeFlush).toBeGreaterThan(2);
    const bulk = await land(true, 5, { chunk: 5, abandonAfter: beforeFlush });
    // Every chunk of the abandoned polls was mapped on the lanes before the last flush's chunks (one statement at a
    // time per lane), and dropped when it ended: nothing of them is left once the writer is idle.
    const [tables] = await bulk.writer.columns(
      `select table_name from duckdb_tables() where table_name like 'bulk_rows_%'`,
    );
    expect(tables ?? []).toEqual([]);
    await expectSameLanding(record, bulk);
    expect([...bulk.lander.bulkLanded.values()].reduce((n, x) => n + x, 0)).toBeGreaterThan(100);
  });
});

describe('a bulk statement that fails', () => {
  it('leaves its messages to the record path: the same lake, and landing goes on', async () => {
    const record = await land(false, 4);
    const broken = await land(true, 4, { broken: true, chunk: 29 });
    await expectSameLanding(record, broken);
    expect(broken.lander.bulkFallbacks).toBeGreaterThan(0);
    expect([...broken.lander.bulkLanded.values()].reduce((n, x) => n + x, 0)).toBe(0);
  });
});
