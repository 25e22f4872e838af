import { describe, expect, it } from 'vitest';
import type { Feed } from '../../connectors/types.js';
import { type NormalizedMessage, Normalizer, type NormalizerOptions } from './normalizer.js';

/** "Now" for plausibility checks: a few days after the docs/feeds.md examples (Asia/Shanghai noon, 5 Aug 2026). */
const NOW = Date.parse('2026-08-05T12:00:00+08:00');

/** The demo city's regions (GB/T 2260), as the hub builds them from its catalogs. */
const regionCodes = new Set(['330000', '330100', '330106', '330108']);

function normalizer(feed: Feed, overrides: Partial<NormalizerOptions> = {}): Normalizer {
  return new Normalizer(feed, {
    salt: 'hangzhou-12345-salt',
    regionCodes,
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => NOW,
    ...overrides,
  });
}

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

/** docs/feeds.md "Counting": nothing disappears unseen. */
function expectAccounted(message: NormalizedMessage): void {
  expect(message.received).toBe(message.landed + message.deadLetters.length);
}

function only(message: NormalizedMessage) {
  expectAccounted(message);
  expect(message.deadLetters).toHaveLength(1);
  expect(message.rows).toHaveLength(0);
  return message.deadLetters[0]!;
}

// Raw payloads copied from docs/feeds.md.
const sensorExample = {
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
const videoExample = {
  alarmId: 'HIK-330106-000123',
  cameraId: 'CAM-330106-0007',
  vendor: 'hik',
  eventCode: '890',
  score: 87.5,
  time: 1754006400000,
  areaCode: '330106',
  lng: 120.1,
  lat: 30.2,
  picUrl: 'https://img.example.cn/a/123.jpg',
  state: 'new',
  stateTime: 1754006400000,
};
const hotlineExample = {
  orderNo: '12345-202608010001',
  acceptTime: '2026-08-01 09:12:33',
  channel: '电话',
  type: '投诉',
  category: '城市管理/市容环境/暴露垃圾',
  street: '330106',
  dept: 'CG-330106',
  state: '办结',
  updateTime: '2026-08-03 10:00:00',
  replyTime: '2026-08-01 10:02:00',
  finishTime: '2026-08-02 16:00:00',
  deadline: '2026-08-04 09:12:33',
  visit: { contacted: true, resolved: true, satisfaction: '满意' },
  caller: { name: '张三', phone: '13812345678' },
};
const eventExample = {
  caseId: 'EV-330106-000045',
  source: 'video',
  sourceRef: 'HIK-330106-000123',
  eventClass: '0101',
  adcode: '330106',
  gridCode: '330106001001001',
  reportTime: '2026-08-01 10:00:00',
  registerTime: '2026-08-01 10:05:00',
  dispatchTime: '2026-08-01 10:10:00',
  handleTime: '2026-08-01 14:00:00',
  verifyTime: '2026-08-01 15:00:00',
  closeTime: '2026-08-01 15:30:00',
  deadline: '2026-08-02 10:00:00',
  status: '结案',
};

describe('sensor feed → sensor_reading', () => {
  it('maps the documented gas reading to the canonical row: UTC time, ppm → %LEL (×0.002)', () => {
    const out = normalizer('sensor').normalize(bytes(sensorExample));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 1, landed: 1, deadLetters: [] });
    expect(out.rows).toEqual([
      {
        dataset: 'sensor_reading',
        dt: '2026-08-01',
        row: {
          device_id: 'GAS-330106-0001',
          device_type: 'gas_methane',
          metric: 'methane',
          value: 0.0016,
          unit: '%LEL',
          observed_at: '2026-08-01T00:00:00.000Z',
          region_code: '330106',
          grid_code: '330106001001001',
          lon: 120.13,
          lat: 30.25,
        },
      },
    ]);
  });

  it.each([
    ['pressure', 'kPa', 350, 'MPa', 0.35],
    ['pressure', 'bar', 4, 'MPa', 0.4],
    ['level', 'm', 1.25, 'cm', 125],
    ['level', 'mm', 35, 'cm', 3.5],
    ['flow', 'L/s', 10, 'm3/h', 36],
    ['methane', '%VOL', 0.1, '%LEL', 2],
    ['crack_width', 'cm', 0.02, 'mm', 0.2],
    ['strain', 'ue', 120, 'με', 120],
    ['tilt', 'deg', 1.5, '°', 1.5],
    ['temperature', 'C', 36.6, '℃', 36.6],
    ['vibration', 'Hz', 12, 'Hz', 12],
  ])('converts %s in %s to the canonical unit', (metric, unit, val, canonical, expected) => {
    const out = normalizer('sensor').normalize(bytes({ ...sensorExample, kind: 'pipe_sensor', metric, unit, val }));
    expect(out.rows[0]?.row).toMatchObject({ metric, unit: canonical, value: expected });
  });

  it('dates an early-morning local reading by its Shanghai day, although UTC is still the day before', () => {
    const out = normalizer('sensor').normalize(bytes({ ...sensorExample, ts: '2026-08-01 07:00:00' }));
    expect(out.rows[0]).toMatchObject({ dt: '2026-08-01', row: { observed_at: '2026-07-31T23:00:00.000Z' } });
  });

  it('accepts epoch milliseconds and ISO 8601 with an offset for ts', () => {
    const epoch = normalizer('sensor').normalize(bytes({ ...sensorExample, ts: Date.parse('2026-08-01T00:00:00Z') }));
    const zoned = normalizer('sensor').normalize(bytes({ ...sensorExample, ts: '2026-08-01T08:00:00+08:00' }));
    expect(epoch.rows[0]?.row.observed_at).toBe('2026-08-01T00:00:00.000Z');
    expect(zoned.rows[0]?.row.observed_at).toBe('2026-08-01T00:00:00.000Z');
  });

  it('lands a reading without the optional grid and coordinates (an empty grid counts as absent)', () => {
    const { grid: _g, lng: _x, lat: _y, ...bare } = sensorExample;
    const out = normalizer('sensor').normalize(bytes({ ...bare, grid: '' }));
    expect(out.landed).toBe(1);
    const landed = JSON.parse(JSON.stringify(out.rows[0]?.row));
    expect(landed).not.toHaveProperty('grid_code');
    expect(landed).not.toHaveProperty('lon');
    expect(landed).not.toHaveProperty('lat');
  });
});

describe('video feed → video_alert', () => {
  it('maps the documented alarm: vendor code → national event class, score → confidence, epoch ms → UTC', () => {
    const out = normalizer('video').normalize(bytes(videoExample));
    expectAccounted(out);
    expect(out.rows).toEqual([
      {
        dataset: 'video_alert',
        dt: '2025-08-01',
        row: {
          alert_id: 'HIK-330106-000123',
          camera_id: 'CAM-330106-0007',
          event_type: '0101',
          vendor_code: '890',
          confidence: 0.875,
          occurred_at: '2025-08-01T00:00:00.000Z',
          region_code: '330106',
          lon: 120.1,
          lat: 30.2,
          image_url: 'https://img.example.cn/a/123.jpg',
          status: 'new',
          status_at: '2025-08-01T00:00:00.000Z',
        },
      },
    ]);
  });

  it('accepts a vendor code sent as a number and keeps it as text for audit', () => {
    const out = normalizer('video').normalize(bytes({ ...videoExample, eventCode: 890 }));
    expect(out.rows[0]?.row).toMatchObject({ event_type: '0101', vendor_code: '890' });
  });

  it('maps another vendor (Dahua) through the same code table', () => {
    const out = normalizer('video').normalize(
      bytes({ ...videoExample, alarmId: 'DH-330106-000007', vendor: 'dh', eventCode: 'GARBAGE_EXPOSED' }),
    );
    expect(out.rows[0]?.row).toMatchObject({ event_type: '0101', vendor_code: 'GARBAGE_EXPOSED' });
  });

  it('lands each status change of the same alarm, but not the same status twice', () => {
    const n = normalizer('video');
    const first = n.normalize(bytes(videoExample));
    const confirmed = n.normalize(bytes({ ...videoExample, state: 'confirmed', stateTime: 1754006700000 }));
    const again = n.normalize(bytes({ ...videoExample, state: 'confirmed', stateTime: 1754006800000 }));
    expect([first.landed, confirmed.landed, again.landed]).toEqual([1, 1, 0]);
    expect(again.deadLetters[0]?.reason_code).toBe('duplicate');
  });

  it('rejects an unknown vendor/code pair as unmapped_code naming both source fields and the pair', () => {
    const dead = only(normalizer('video').normalize(bytes({ ...videoExample, eventCode: '999' })));
    expect(dead.reason_code).toBe('unmapped_code');
    expect(dead.issues).toEqual([{ path: 'vendor+eventCode', message: expect.stringContaining('"hik:999"') }]);
  });

  it('rejects a score above 100 as invalid, naming the source field score', () => {
    const dead = only(normalizer('video').normalize(bytes({ ...videoExample, score: 187.5 })));
    expect(dead.reason_code).toBe('invalid');
    expect(dead.issues).toEqual([{ path: 'confidence', message: expect.stringContaining('source field "score"') }]);
  });

  it('rejects a Chinese state the feed does not define, naming the source field state', () => {
    const dead = only(normalizer('video').normalize(bytes({ ...videoExample, state: '已确认' })));
    expect(dead.reason_code).toBe('invalid');
    expect(dead.issues[0]).toMatchObject({ path: 'status', message: expect.stringContaining('source field "state"') });
  });
});

describe('event feed → city_event', () => {
  it('maps the documented case snapshot: every lifecycle time to UTC, 结案 → closed', () => {
    const out = normalizer('event').normalize(bytes(eventExample));
    expectAccounted(out);
    expect(out.rows).toEqual([
      {
        dataset: 'city_event',
        dt: '2026-08-01',
        row: {
          event_id: 'EV-330106-000045',
          source_kind: 'video',
          source_ref: 'HIK-330106-000123',
          event_class: '0101',
          region_code: '330106',
          grid_code: '330106001001001',
          reported_at: '2026-08-01T02:00:00.000Z',
          registered_at: '2026-08-01T02:05:00.000Z',
          dispatched_at: '2026-08-01T02:10:00.000Z',
          handled_at: '2026-08-01T06:00:00.000Z',
          verified_at: '2026-08-01T07:00:00.000Z',
          closed_at: '2026-08-01T07:30:00.000Z',
          deadline_at: '2026-08-02T02:00:00.000Z',
          status: 'closed',
        },
      },
    ]);
  });

  it.each([
    ['上报', 'reported'],
    ['立案', 'registered'],
    ['派遣', 'dispatched'],
    ['处置', 'handled'],
    ['核查', 'verified'],
    ['结案', 'closed'],
    ['作废', 'cancelled'],
  ])('maps status %s → %s', (status, canonical) => {
    const out = normalizer('event').normalize(bytes({ ...eventExample, status }));
    expect(out.rows[0]?.row.status).toBe(canonical);
  });

  it('lands a just-reported case with only the report time', () => {
    const reported = {
      caseId: 'EV-330106-000046',
      source: 'grid',
      sourceRef: 'WG-330106-0231',
      eventClass: '0505',
      adcode: '330106',
      reportTime: '2026-08-05 11:00:00',
      status: '上报',
    };
    const out = normalizer('event').normalize(bytes(reported));
    expect(out.landed).toBe(1);
    expect(out.rows[0]?.row).toMatchObject({ reported_at: '2026-08-05T03:00:00.000Z', status: 'reported' });
  });
});

describe('hotline feed → hotline_case', () => {
  it('maps the documented 12345 work order: Chinese enums → canonical, times → UTC, phone → caller_hash', () => {
    const out = normalizer('hotline').normalize(bytes(hotlineExample));
    expectAccounted(out);
    expect(out.rows).toEqual([
      {
        dataset: 'hotline_case',
        dt: '2026-08-01',
        row: {
          case_id: '12345-202608010001',
          received_at: '2026-08-01T01:12:33.000Z',
          channel: 'phone',
          request_type: 'complaint',
          category: '城市管理/市容环境/暴露垃圾',
          region_code: '330106',
          department_code: 'CG-330106',
          status: 'closed',
          updated_at: '2026-08-03T02:00:00.000Z',
          responded_at: '2026-08-01T02:02:00.000Z',
          closed_at: '2026-08-02T08:00:00.000Z',
          deadline_at: '2026-08-04T01:12:33.000Z',
          contacted: true,
          resolved: true,
          satisfaction: 'satisfied',
          caller_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
          caller_key_id: '1',
        },
      },
    ]);
  });

  it.each([
    ['channel', '电话', 'channel', 'phone'],
    ['channel', '网站', 'channel', 'web'],
    ['channel', 'APP', 'channel', 'app'],
    ['channel', '微信', 'channel', 'wechat'],
    ['channel', '其他', 'channel', 'other'],
    ['type', '咨询', 'request_type', 'consult'],
    ['type', '求助', 'request_type', 'help'],
    ['type', '投诉', 'request_type', 'complaint'],
    ['type', '举报', 'request_type', 'report'],
    ['type', '建议', 'request_type', 'suggestion'],
    ['type', '感谢', 'request_type', 'thanks'],
    ['type', '其他', 'request_type', 'other'],
    ['state', '受理', 'status', 'received'],
    ['state', '派单', 'status', 'dispatched'],
    ['state', '办理中', 'status', 'handling'],
    ['state', '办结', 'status', 'closed'],
  ])('maps %s %s → %s %s', (field, value, canonicalField, canonical) => {
    const out = normalizer('hotline').normalize(bytes({ ...hotlineExample, [field]: value }));
    expect(out.rows[0]?.row[canonicalField]).toBe(canonical);
  });

  it.each([
    ['满意', 'satisfied'],
    ['基本满意', 'basically_satisfied'],
    ['不满意', 'unsatisfied'],
  ])('maps satisfaction %s → %s', (satisfaction, canonical) => {
    const out = normalizer('hotline').normalize(
      bytes({ ...hotlineExample, visit: { ...hotlineExample.visit, satisfaction } }),
    );
    expect(out.rows[0]?.row.satisfaction).toBe(canonical);
  });

  it('lands a freshly accepted order without visit, reply, finish or deadline', () => {
    const { visit: _v, replyTime: _r, finishTime: _f, deadline: _d, updateTime: _u, ...fresh } = hotlineExample;
    const out = normalizer('hotline').normalize(bytes({ ...fresh, state: '受理' }));
    expect(out.landed).toBe(1);
    const row = JSON.parse(JSON.stringify(out.rows[0]?.row));
    expect(Object.keys(row).sort()).toEqual(
      [
        'caller_hash',
        'caller_key_id',
        'case_id',
        'category',
        'channel',
        'department_code',
        'received_at',
        'region_code',
        'request_type',
        'status',
      ].sort(),
    );
  });

  it('lands each version of an order (same status, new update time); a re-send of a version is a duplicate', () => {
    const n = normalizer('hotline');
    // Closed on the 2nd; the follow-up visit reaches the caller a day later: the same status, a newer version.
    const closed = { ...hotlineExample, updateTime: '2026-08-02 16:00:00', visit: { contacted: false } };
    const visited = hotlineExample;
    expect(n.normalize(bytes(closed)).landed).toBe(1);
    expect(n.normalize(bytes(visited)).landed).toBe(1);
    const again = only(n.normalize(bytes(visited)));
    expect(again).toMatchObject({ reason_code: 'duplicate', issues: [{ path: 'case_id+status+updated_at' }] });
    expect(only(n.normalize(bytes(closed))).reason_code).toBe('duplicate');
  });

  it('without an update time an order has one version per status, as before: a second copy is a duplicate', () => {
    const n = normalizer('hotline');
    const { updateTime: _u, ...unversioned } = hotlineExample;
    expect(n.normalize(bytes(unversioned)).landed).toBe(1);
    const later = { ...unversioned, visit: { ...unversioned.visit, satisfaction: '不满意' } };
    expect(only(n.normalize(bytes(later))).reason_code).toBe('duplicate');
    // A version with an update time is another record than the one without.
    expect(n.normalize(bytes(hotlineExample)).landed).toBe(1);
  });

  it('lands a live order whose handling deadline is days ahead (deadlines are in the future by nature)', () => {
    // Processed 20 minutes after acceptance; the 3-day deadline lies beyond max_future_skew_ms (24 h).
    const live = normalizer('hotline', { now: () => Date.parse('2026-08-01T09:32:33+08:00') });
    const out = live.normalize(
      bytes({
        ...hotlineExample,
        state: '受理',
        updateTime: '2026-08-01 09:13:00',
        replyTime: '',
        finishTime: '',
        visit: undefined,
      }),
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.rows[0]?.row.deadline_at).toBe('2026-08-04T01:12:33.000Z');
  });
});

describe('bad input is dead-lettered with a reason, never thrown or dropped', () => {
  it('rejects text that is not JSON as malformed_json, keeping the raw text', () => {
    const text = '{"dev":"GAS-330106-0001","val":0.8,';
    const dead = only(normalizer('sensor').normalize(bytes(text)));
    expect(dead).toMatchObject({ feed: 'sensor', reason_code: 'malformed_json', raw: text, raw_truncated: false });
  });

  it.each([
    ['an array', '[1,2,3]'],
    ['a string', '"甲烷 0.8"'],
    ['null', 'null'],
    ['a number', '42'],
  ])('rejects JSON that is %s (not an object) as invalid', (_, text) => {
    const dead = only(normalizer('sensor').normalize(bytes(text)));
    expect(dead).toMatchObject({ reason_code: 'invalid', issues: [{ path: '', message: 'expected a JSON object' }] });
  });

  it('rejects a string where a number belongs as invalid, with the canonical path and the source field named', () => {
    const dead = only(normalizer('sensor').normalize(bytes({ ...sensorExample, val: '0.8' })));
    expect(dead.reason_code).toBe('invalid');
    expect(dead.issues).toEqual([{ path: 'value', message: expect.stringContaining('source field "val"') }]);
    expect(dead.issues[0]?.message).toMatch(/number/);
    expect(dead.raw).toBe(JSON.stringify({ ...sensorExample, val: '0.8' }));
  });

  it('rejects a reading without its device id as invalid, naming dev', () => {
    const { dev: _dev, ...missing } = sensorExample;
    const dead = only(normalizer('sensor').normalize(bytes(missing)));
    expect(dead.reason_code).toBe('invalid');
    expect(dead.issues).toEqual([{ path: 'device_id', message: expect.stringContaining('source field "dev"') }]);
  });

  it('rejects a reading without a time as invalid, naming ts', () => {
    const { ts: _ts, ...missing } = sensorExample;
    const dead = only(normalizer('sensor').normalize(bytes(missing)));
    expect(dead.reason_code).toBe('invalid');
    expect(dead.issues).toEqual([{ path: 'observed_at', message: expect.stringContaining('source field "ts"') }]);
  });

  it('rejects a payload over max_payload_bytes as oversized, keeping only a truncated prefix of it', () => {
    // A camera that inlines its snapshot as base64 instead of sending picUrl.
    const text = JSON.stringify({ ...videoExample, picBase64: `/9j/4AAQSkZJRgABAQ${'A'.repeat(200 * 1024)}` });
    const dead = only(normalizer('video', { maxPayloadBytes: 16 * 1024 }).normalize(bytes(text)));
    expect(dead.reason_code).toBe('oversized');
    expect(dead.issues[0]?.message).toContain(String(Buffer.byteLength(text)));
    expect(dead.raw_truncated).toBe(true);
    expect(dead.raw.length).toBeLessThan(text.length);
    expect(text.startsWith(dead.raw)).toBe(true);
  });

  it('lands a payload of exactly max_payload_bytes', () => {
    const base = JSON.stringify(sensorExample);
    const out = normalizer('sensor', { maxPayloadBytes: Buffer.byteLength(base) }).normalize(bytes(base));
    expect(out.landed).toBe(1);
  });

  it.each([
    ['30 February', '2026-02-30 10:00:00'],
    ['month 13', '2026-13-01 00:00:00'],
    ['text', '昨天上午'],
  ])('rejects a time that does not exist (%s) as implausible_time naming ts', (_, ts) => {
    const dead = only(normalizer('sensor').normalize(bytes({ ...sensorExample, ts })));
    expect(dead.reason_code).toBe('implausible_time');
    expect(dead.issues).toEqual([{ path: 'ts', message: expect.stringContaining(JSON.stringify(ts)) }]);
  });

  it('rejects a time beyond max_future_skew_ms as implausible_time, and lands one just inside it', () => {
    const n = normalizer('sensor');
    const inside = n.normalize(bytes({ ...sensorExample, ts: '2026-08-06 11:59:59' }));
    const dead = only(n.normalize(bytes({ ...sensorExample, ts: '2026-08-06 12:00:01' })));
    expect(inside.landed).toBe(1);
    expect(dead).toMatchObject({ reason_code: 'implausible_time', issues: [{ path: 'observed_at' }] });
    const farFuture = only(n.normalize(bytes({ ...sensorExample, ts: '2036-08-01 08:00:00' })));
    expect(farFuture.reason_code).toBe('implausible_time');
  });

  it('rejects a time before 2000 (a device with a reset clock) as implausible_time', () => {
    const n = normalizer('sensor');
    expect(only(n.normalize(bytes({ ...sensorExample, ts: '1999-12-31 23:59:59' }))).reason_code).toBe(
      'implausible_time',
    );
    expect(only(n.normalize(bytes({ ...sensorExample, ts: 0 }))).reason_code).toBe('implausible_time');
    expect(n.normalize(bytes({ ...sensorExample, ts: '2000-01-01 00:00:00' })).landed).toBe(1);
  });

  it('rejects an epoch in nanoseconds (out of the Date range) as implausible_time instead of throwing', () => {
    const n = normalizer('video');
    const out = n.normalize(bytes({ ...videoExample, time: 1754006400000000000 }));
    expect(only(out)).toMatchObject({ reason_code: 'implausible_time', issues: [{ path: 'time' }] });
  });

  it('rejects a region code missing from the catalog as unknown_region naming the code', () => {
    const dead = only(normalizer('sensor').normalize(bytes({ ...sensorExample, adcode: '339999' })));
    expect(dead.reason_code).toBe('unknown_region');
    expect(dead.issues).toEqual([{ path: 'region_code', message: expect.stringContaining('339999') }]);
  });

  it('rejects a unit the metric does not accept as unmapped_code naming unit', () => {
    const dead = only(normalizer('sensor').normalize(bytes({ ...sensorExample, unit: 'ppb' })));
    expect(dead.reason_code).toBe('unmapped_code');
    expect(dead.issues).toEqual([{ path: 'unit', message: expect.stringContaining('ppb') }]);
  });

  it('dead-letters the second copy of a reading (same device, metric and time) as duplicate', () => {
    const n = normalizer('sensor');
    const first = n.normalize(bytes(sensorExample));
    const second = n.normalize(bytes(sensorExample));
    expect(first.landed).toBe(1);
    const dead = only(second);
    expect(dead).toMatchObject({ reason_code: 'duplicate', issues: [{ path: 'device_id+metric+observed_at' }] });
    // A new reading of the same device lands.
    expect(n.normalize(bytes({ ...sensorExample, ts: '2026-08-01 08:01:00' })).landed).toBe(1);
  });

  it('forgets the oldest natural keys past the dedupe window, so memory stays bounded', () => {
    const n = normalizer('sensor', { dedupeWindow: 2 });
    for (const ts of ['2026-08-01 08:00:00', '2026-08-01 08:01:00', '2026-08-01 08:02:00']) {
      expect(n.normalize(bytes({ ...sensorExample, ts })).landed).toBe(1);
    }
    expect(n.normalize(bytes({ ...sensorExample, ts: '2026-08-01 08:02:00' })).deadLetters[0]?.reason_code).toBe(
      'duplicate',
    );
    expect(n.normalize(bytes({ ...sensorExample, ts: '2026-08-01 08:00:00' })).landed).toBe(1);
  });

  it('does not remember a rejected record as seen: its corrected resend lands', () => {
    const n = normalizer('sensor');
    expect(n.normalize(bytes({ ...sensorExample, val: '0.8' })).landed).toBe(0);
    expect(n.normalize(bytes(sensorExample)).landed).toBe(1);
  });
});
