/**
 * The hostile-input corpus of issue 6: bodies that real feeds and careless or malicious senders produce, each to be
 * dead-lettered with a reason while the valid record behind it lands. Written as files for raw-files connectors (one
 * folder per feed, file-name order = send order), so the hub reads them exactly as it would in production.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Feed, feeds } from '../../connectors/types.js';

/** Personal data planted in hotline bodies: none of it may be found in clear anywhere in the data dir. */
export const plantedPersonalData = {
  mobiles: ['13912345678', '15867001234', '18657109876', '13705718888'],
  landlines: ['0571-87654321', '0574-66001122', '(0571)88886666'],
  idNumbers: ['330106199001011234', '33010219851231567X', '330104200002295678'],
  names: ['张伟明', '李秀英'],
};
const [m0, m1, m2, m3] = plantedPersonalData.mobiles;
const [l0, l1, l2] = plantedPersonalData.landlines;
const [id0, id1, id2] = plantedPersonalData.idNumbers;
const [n0, n1] = plantedPersonalData.names;

/** `depth` levels of nested arrays, as text (JSON.stringify would overflow building it). */
export function deepArray(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}
/** `depth` levels of nested objects under key `a`, as text. */
export function deepObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Valid payloads per feed (formats in docs/feeds.md); `i` makes the natural key unique. */
export const validPayload: Record<Feed, (i: number) => string> = {
  sensor: (i) =>
    JSON.stringify({
      dev: 'GAS-330106-0001',
      kind: 'gas_methane',
      metric: 'methane',
      val: 0.8,
      unit: '%LEL',
      ts: `2026-08-01 ${String(8 + Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00`,
      adcode: '330106',
    }),
  video: (i) =>
    JSON.stringify({
      alarmId: `HIK-OK-${i}`,
      cameraId: 'CAM-1',
      vendor: 'hik',
      eventCode: '890',
      score: 90,
      time: Date.UTC(2026, 7, 1, 2, i),
      areaCode: '330106',
      state: 'new',
      stateTime: Date.UTC(2026, 7, 1, 2, i),
    }),
  hotline: (i) =>
    JSON.stringify({
      orderNo: `12345-OK-${i}`,
      acceptTime: `2026-08-01 09:${String(i % 60).padStart(2, '0')}:00`,
      channel: '电话',
      type: '投诉',
      category: '城市管理/市容环境/暴露垃圾',
      street: '330106',
      state: '受理',
      content: `${n0}反映小区门口垃圾堆积，联系电话${m0}，座机${l0}，身份证${id0}，请尽快处理`,
      caller: { name: n0, phone: m0 },
    }),
  event: (i) =>
    JSON.stringify({
      caseId: `EV-OK-${i}`,
      source: 'video',
      sourceRef: `HIK-OK-${i}`,
      eventClass: '0101',
      adcode: '330106',
      reportTime: `2026-08-01 10:${String(i % 60).padStart(2, '0')}:00`,
      status: '上报',
    }),
  dept: (i) =>
    JSON.stringify({
      deliveryId: `D-OK-${i}`,
      resourceCode: 'R1',
      dept: '330106-SJ',
      adcode: '330106',
      deliveredAt: '2026-08-01 02:00:00',
      file: `inbox/ok-${i}.csv`,
      checksum: 'sha256:x',
      records: [{ 名称: '甲' }],
    }),
};

/** A valid payload of the feed with some fields replaced, as JSON text (for values JSON has no literal for, edit it). */
function withFields(feed: Feed, over: Record<string, unknown>, i = 9_000): string {
  return JSON.stringify({ ...JSON.parse(validPayload[feed](i)), ...over });
}
/** Replaces `"key":<json value>` of a valid payload by raw text: NaN, 1e400, lone surrogates, raw bytes. */
function withRaw(feed: Feed, key: string, rawValue: string, i = 9_001): string {
  const text = validPayload[feed](i);
  const match = new RegExp(`"${key}":("[^"]*"|[^,}]*)`).exec(text);
  if (!match) throw new Error(`no field ${key} in the ${feed} payload`);
  return text.replace(match[0], `"${key}":${rawValue}`);
}

function withBytes(text: string, marker: string, bytes: Buffer): Buffer {
  const [before, after] = text.split(marker);
  return Buffer.concat([Buffer.from(before!), bytes, Buffer.from(after!)]);
}

/** Bodies every feed gets, whatever its format. */
function commonBodies(feed: Feed, options: { hugeBodies: boolean }): (string | Buffer)[] {
  const first = Object.keys(JSON.parse(validPayload[feed](0)))[0]!;
  const bodies: (string | Buffer)[] = [
    '', // empty body
    validPayload[feed](1).slice(0, 40), // truncated JSON
    'NaN',
    '1e400',
    '42',
    'null',
    '"just a string"',
    '[1,2,3]',
    `[${validPayload[feed](2)}]`, // a valid record wrapped in an array
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    withFields(feed, { ['__proto__']: { polluted: 1 } }, 9_002), // an own "__proto__" key beside the real fields
    withRaw(feed, first, 'NaN', 9_003),
    withRaw(feed, first, '1e400', 9_004),
    withRaw(feed, first, '"\\ud800"', 9_005), // a lone surrogate as a JSON escape
    withRaw(feed, first, '"a\\udfffb"', 9_006), // a lone low surrogate
    withBytes(withRaw(feed, first, '"A@@B"', 9_007), '@@', Buffer.from([0xff, 0xfe, 0xc3])), // invalid UTF-8
    Buffer.from(`{"${first}":"A\u0000B"}`), // a NUL inside a string (raw control character: not JSON)
    Buffer.alloc(64), // nothing but NUL bytes
    deepArray(100_000),
    deepObject(100_000),
    withRaw(feed, first, `"../../etc/passwd"`, 9_008),
    withRaw(feed, first, `"'; drop table x; --"`, 9_009),
    `${validPayload[feed](9_010)} trailing garbage`,
    '\ufeff{"bom":true', // BOM then a truncated object
    withFields(feed, { pad: 'x'.repeat(2 * 1024 * 1024) }, 9_011), // over landing.max_payload_bytes
  ];
  if (options.hugeBodies) bodies.push(withFields(feed, { pad: 'y'.repeat(20 * 1024 * 1024) }, 9_012)); // over the bus's limit
  return bodies;
}

/** Bodies aimed at one feed's mapping: prototype lookups, impossible times, deep nesting where it recurses. */
function feedBodies(feed: Feed): string[] {
  switch (feed) {
    case 'sensor':
      return [
        withFields('sensor', { metric: 'constructor' }, 9_100),
        withFields('sensor', { metric: 'toString' }, 9_101),
        withFields('sensor', { metric: '__proto__' }, 9_102),
        withFields('sensor', { kind: 'hasOwnProperty' }, 9_103),
        withFields('sensor', { unit: 'valueOf' }, 9_104),
        withRaw('sensor', 'val', '1e400', 9_105),
        withRaw('sensor', 'val', 'NaN', 9_106),
        withFields('sensor', { ts: '2026-02-30 10:00:00' }, 9_107),
        withFields('sensor', { ts: '9999-12-31 23:59:59' }, 9_108),
        withFields('sensor', { adcode: "330106' or '1'='1" }, 9_109),
      ];
    case 'video':
      return [
        withFields('video', { eventCode: 'constructor' }, 9_100),
        withFields('video', { vendor: '__proto__' }, 9_101),
        withFields('video', { state: 'toString' }, 9_102),
        withFields('video', { alarmId: '../../etc/passwd' }, 9_103),
        withFields('video', { time: 253402300799000 }, 9_104), // 9999-12-31
        withFields('video', { time: -1 }, 9_105),
        withRaw('video', 'score', '1e400', 9_106),
      ];
    case 'hotline':
      return [
        // Invalid orders holding personal data: dead-lettered, and masked there too.
        withFields('hotline', { street: 330106, content: `来电人${n1}，手机${m1}，身份证${id1}` }, 9_100),
        withFields('hotline', { acceptTime: '2026-02-30 09:00:00', content: `回拨${l1}或${m2}` }, 9_101),
        withFields('hotline', { acceptTime: '9999-01-01 00:00:00' }, 9_102),
        withFields('hotline', { channel: 'constructor' }, 9_103), // a code-table lookup that must not reach Object.prototype
        withFields('hotline', { state: '__proto__' }, 9_104),
        // A vendor's own field names for the caller.
        JSON.stringify({
          orderNo: '12345-VENDOR-1',
          acceptTime: '2026-08-01 09:30:00',
          street: 339999, // invalid: dead-lettered with the vendor fields in its raw payload
          callerName: n1,
          callerPhone: m3,
          mobile: m2,
          idCard: id2,
          remark: `备注：${l2}`,
        }),
        // Deep nesting inside an otherwise invalid order.
        withFields('hotline', { street: 1 }, 9_105).replace('"street":1', `"street":1,"extra":${deepObject(100_000)}`),
      ];
    case 'event':
      return [
        withFields('event', { eventClass: 'toString' }, 9_100),
        withFields('event', { status: '__proto__' }, 9_101),
        withFields('event', { source: 'constructor' }, 9_102),
        withFields('event', { reportTime: '2026-02-30 10:00:00' }, 9_103),
        withFields('event', { reportTime: '9999-12-31 00:00:00' }, 9_104),
        withFields('event', { caseId: '../../etc/passwd' }, 9_105),
      ];
    case 'dept':
      return [
        withFields('dept', { deliveryId: 'D-DEEP', records: [{ a: 1 }] }, 9_100).replace(
          '[{"a":1}]',
          `[${deepObject(100_000)}]`,
        ),
        withFields('dept', { deliveryId: 'D-DEEP-2' }, 9_101).replace(
          '"records":[',
          `"records":[${deepArray(100_000)},`,
        ),
        withFields('dept', { deliveryId: 'D-PROTO', resourceCode: '__proto__' }, 9_102),
        withFields('dept', { deliveryId: 'D-CTOR', adcode: 'constructor' }, 9_103), // a region lookup that must not reach Object.prototype
        withFields('dept', { deliveryId: 'D-SQL', resourceCode: "'; drop table x; --" }, 9_104),
        withFields('dept', { deliveryId: '../../etc/passwd', adcode: '339999' }, 9_105),
        withFields('dept', { deliveryId: 'D-DATE', deliveredAt: '2026-02-30 02:00:00' }, 9_106),
        withFields('dept', { deliveryId: 'D-FUTURE', deliveredAt: '9999-12-31 02:00:00' }, 9_107),
      ];
  }
}

/** Every hostile body of a feed (the corpus files hold these, each followed by a valid record). */
export function hostileBodies(feed: Feed, options: { hugeBodies: boolean }): (string | Buffer)[] {
  return [...commonBodies(feed, options), ...feedBodies(feed)];
}

export interface FeedCorpus {
  folder: string;
  bad: number;
  good: number;
  /** Natural ids of the valid records (sensor: their observed local times). */
  goodIds: string[];
}

/**
 * Writes the corpus under `root/<feed>/`: each bad body as `NNNNN-bad`, followed by a valid record `NNNNN-ok`, so
 * every bad body has a valid record right behind it on the same partition (the hub config uses one partition).
 */
export async function writeHostileCorpus(
  root: string,
  options: { hugeBodies: boolean },
): Promise<Record<Feed, FeedCorpus>> {
  const out = {} as Record<Feed, FeedCorpus>;
  for (const feed of feeds) {
    const folder = join(root, feed);
    await mkdir(folder, { recursive: true });
    const bad = hostileBodies(feed, options);
    const goodIds: string[] = [];
    for (let i = 0; i < bad.length; i++) {
      const n = String(i).padStart(5, '0');
      await writeFile(join(folder, `${n}-a-bad`), bad[i]!);
      const good = validPayload[feed](i);
      await writeFile(join(folder, `${n}-b-ok`), good);
      const parsed = JSON.parse(good) as Record<string, string>;
      goodIds.push(
        parsed.alarmId ?? parsed.orderNo ?? parsed.caseId ?? parsed.deliveryId ?? (parsed.ts as string | undefined)!,
      );
    }
    out[feed] = { folder, bad: bad.length, good: bad.length, goodIds };
  }
  return out;
}

/** A hub config running one `once` raw-files connector per corpus folder, with no catalogs but the regions. */
export function hostileHubConfig(dataDir: string, corpus: Record<Feed, FeedCorpus>): Record<string, unknown> {
  return {
    region_code: '330000',
    tier: 'city',
    data_dir: dataDir,
    privacy: { salt: 'hostile-input-salt' },
    // One partition: each bad body is followed on its partition by the valid record behind it.
    topics: { partitions: 1 },
    connectors: feeds.map((feed) => ({
      id: `hostile-${feed}`,
      kind: 'raw-files',
      path: corpus[feed].folder,
      feed,
      once: true,
    })),
    catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
    landing: { max_age_ms: 200 },
    models: { schedule: '0 0 1 1 *' },
    log: { level: 'info' },
  };
}
