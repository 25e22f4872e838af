import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Feed } from '../../connectors/types.js';
import type { Device, Region } from '../../schemas/index.js';
import { type NormalizedMessage, Normalizer } from '../normalize/normalizer.js';
import { compileMapping, type MappingCatalogs } from './compile.js';
import { loadMappingFile, MappingFileError } from './load.js';

const regions: Region[] = [
  { code: '340000', name: '安徽省', level: 'province' },
  { code: '340100', name: '合肥市', level: 'city', parent_code: '340000' },
  { code: '340104', name: '蜀山区', level: 'district', parent_code: '340100' },
  { code: '340111', name: '包河区', level: 'district', parent_code: '340100' },
  { code: '340200', name: '芜湖市', level: 'city', parent_code: '340000' },
  // A district name two cities share: it cannot say which region it is.
  { code: '340202', name: '镜湖区', level: 'district', parent_code: '340200' },
  { code: '340102', name: '镜湖区', level: 'district', parent_code: '340100' },
];
const devices: Device[] = [
  { device_id: 'HF-P-001', device_type: 'water_pressure', region_code: '340104', reporting_interval_s: 300 },
];
const catalogs: MappingCatalogs = { regions, devices, data_resources: [] };
const NOW = Date.parse('2026-08-05T12:00:00+08:00');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-mapping-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function normalizerFor(feed: Feed, yaml: string, files: Record<string, string | Buffer> = {}) {
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const file = join(dir, `${feed}-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  const mapping = compileMapping(loadMappingFile(file, feed), catalogs);
  return new Normalizer(feed, {
    mapping,
    salt: 'a-test-key-0123456789',
    keyId: 'k7',
    regionCodes: new Set(regions.map((r) => r.code)),
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => NOW,
  });
}

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

function accounted(out: NormalizedMessage): NormalizedMessage {
  const deadLettered = out.deadLetters.reduce((n, d) => n + (d.records ?? 1), 0);
  expect(out.received).toBe(out.landed + deadLettered);
  return out;
}

/** A second sensor vendor: Chinese keys, local times with slashes, kPa, the region only in the device registry. */
const secondVendor = `
dataset: sensor_reading
fields:
  device_id: 设备编号
  device_type: { const: water_pressure }
  metric: { const: pressure }
  value: { path: 数据.读数, type: number }
  unit: 数据.单位
  observed_at: { path: 采集时间, time: ['YYYY/MM/DD HH:mm:ss', epoch_ms] }
  region_code: { path: 设备编号, lookup: device_region }
measurement: { value: value, unit: unit, metric: metric }
`;

describe('a mapping file turns a vendor payload into a canonical record', () => {
  it('maps a second sensor vendor: nested Chinese keys, text numbers, local time, kPa → MPa, region from the device', async () => {
    const n = await normalizerFor('sensor', secondVendor);
    const out = accounted(
      n.normalize(
        bytes({ 设备编号: 'HF-P-001', 数据: { 读数: '352.5', 单位: 'kPa' }, 采集时间: '2026/08/01 08:00:00' }),
      ),
    );
    expect(out.deadLetters).toEqual([]);
    expect(out.rows[0]?.row).toMatchObject({
      device_id: 'HF-P-001',
      device_type: 'water_pressure',
      metric: 'pressure',
      value: 0.3525,
      unit: 'MPa',
      observed_at: '2026-08-01T00:00:00.000Z',
      region_code: '340104',
    });
    const epoch = accounted(
      n.normalize(bytes({ 设备编号: 'HF-P-001', 数据: { 读数: 300, 单位: 'MPa' }, 采集时间: 1754006400000 })),
    );
    expect(epoch.rows[0]?.row).toMatchObject({ value: 300, unit: 'MPa', observed_at: '2025-08-01T00:00:00.000Z' });
  });

  it('dead-letters, naming the source path: an unknown device, a text that is no number, a time in no format, a unit of another dimension', async () => {
    const n = await normalizerFor('sensor', secondVendor);
    const base = { 设备编号: 'HF-P-001', 数据: { 读数: '1', 单位: 'kPa' }, 采集时间: '2026/08/01 08:00:00' };
    const cases: [unknown, string, string, RegExp][] = [
      [{ ...base, 设备编号: 'HF-P-404' }, 'unknown_region', '设备编号', /device "HF-P-404" is not in the catalog/],
      [{ ...base, 数据: { 读数: '1,5', 单位: 'kPa' } }, 'invalid', '数据.读数', /not a number: "1,5"/],
      [{ ...base, 采集时间: '2026-13-45 08:00' }, 'implausible_time', '采集时间', /2026-13-45/],
      [
        { ...base, 数据: { 读数: '1', 单位: 'ppm' } },
        'unmapped_code',
        'unit',
        /unknown unit "ppm" for metric pressure/,
      ],
    ];
    for (const [payload, reason, path, message] of cases) {
      const out = accounted(n.normalize(bytes(payload)));
      expect(out.rows).toEqual([]);
      expect(out.deadLetters[0]).toMatchObject({ reason_code: reason, issues: [{ path }] });
      expect(out.deadLetters[0]!.issues[0]!.message).toMatch(message);
    }
  });

  it('a video vendor with its own code table file, a composite key and a score out of 100', async () => {
    const n = await normalizerFor(
      'video',
      `
dataset: video_alert
fields:
  alert_id: id
  camera_id: cam
  event_type: { path: [brand, type], join: '/', codes: { file: uniview-codes.csv, trim: true } }
  vendor_code: { path: type, type: text }
  confidence: { path: prob, divide_by: 100 }
  occurred_at: { path: t, time: 'YYYYMMDDHHmmss' }
  region_code: { path: 区县, lookup: region_by_name }
  status: { const: new }
  status_at: { path: t, time: 'YYYYMMDDHHmmss' }
`,
      { 'uniview-codes.csv': 'code,value\nuniview/17,0502\nuniview/21,0101\n' },
    );
    const alert = { id: 'UV-1', cam: 'C-9', brand: 'uniview', type: 17, prob: 91, t: '20260801083000', 区县: '蜀山区' };
    const out = accounted(n.normalize(bytes(alert)));
    expect(out.deadLetters).toEqual([]);
    expect(out.rows[0]?.row).toMatchObject({
      event_type: '0502',
      vendor_code: '17',
      confidence: 0.91,
      occurred_at: '2026-08-01T00:30:00.000Z',
      region_code: '340104',
      status: 'new',
    });
    const unknown = accounted(n.normalize(bytes({ ...alert, id: 'UV-2', type: 99 })));
    expect(unknown.deadLetters[0]).toMatchObject({ reason_code: 'unmapped_code', issues: [{ path: 'brand+type' }] });
    const ambiguous = accounted(n.normalize(bytes({ ...alert, id: 'UV-3', 区县: '镜湖区' })));
    expect(ambiguous.deadLetters[0]).toMatchObject({ reason_code: 'unknown_region', issues: [{ path: '区县' }] });
    expect(ambiguous.deadLetters[0]!.issues[0]!.message).toMatch(/more than one region/);
  });

  it('a bulk message: each element of `records` is a record; a bad one is dead-lettered with its position, the rest land', async () => {
    const n = await normalizerFor(
      'sensor',
      `
dataset: sensor_reading
records: data.items
fields:
  device_id: id
  device_type: { const: gas_methane }
  metric: { const: methane }
  value: v
  unit: { const: '%LEL' }
  observed_at: { path: ts, time: epoch_s }
  region_code: { const: '340104' }
`,
    );
    const out = accounted(
      n.normalize(
        bytes({ data: { items: [{ id: 'G1', v: 1, ts: 1785542400 }, 'oops', { id: 'G2', v: 2, ts: 1785542400000 }] } }),
      ),
    );
    expect(out.received).toBe(3);
    expect(out.rows.map((r) => r.row.device_id)).toEqual(['G1']);
    expect(out.deadLetters.map((d) => [d.reason_code, d.line])).toEqual([
      ['invalid', 2],
      ['implausible_time', 3],
    ]);
  });

  it('paths never reach Object.prototype, and a constant, a column with dots and a default work as written', async () => {
    const n = await normalizerFor(
      'event',
      `
dataset: city_event
fields:
  event_id: { column: 事件.编号 }
  source_kind: { path: constructor, default: other }
  source_ref: { path: toString, default: grid-patrol }
  event_class: { path: __proto__.x, default: '0101' }
  region_code: { const: '340111' }
  reported_at: { path: 上报时间, time: 'YYYY年M月D日 H时mm分' }
  status: { path: 状态, codes: { entries: { 结案: closed, 上报: reported } } }
`,
    );
    const out = accounted(n.normalize(bytes({ '事件.编号': 'E-1', 上报时间: '2026年8月1日 9时05分', 状态: '上报' })));
    expect(out.deadLetters).toEqual([]);
    expect(out.rows[0]?.row).toMatchObject({
      event_id: 'E-1',
      source_kind: 'other',
      event_class: '0101',
      region_code: '340111',
      reported_at: '2026-08-01T01:05:00.000Z',
      status: 'reported',
    });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('personal fields: a phone becomes the keyed hash and its key id, free text is redacted', async () => {
    const n = await normalizerFor(
      'hotline',
      `
dataset: hotline_case
personal: true
fields:
  case_id: 工单号
  received_at: { path: 受理时间, time: 'YYYY-MM-DD HH:mm' }
  channel: { path: 渠道, codes: builtin:hotline_channel }
  request_type: { path: 类型, codes: builtin:hotline_request_type }
  category: { path: 内容, personal: redact }
  region_code: { path: 区, lookup: region_by_name }
  status: { path: 状态, codes: builtin:hotline_status }
  caller_hash: { path: 来电号码, personal: hash }
  caller_key_id: { path: 来电号码, personal: hash_key_id }
`,
    );
    const out = accounted(
      n.normalize(
        bytes({
          工单号: 'HF-12345-1',
          受理时间: '2026-08-01 09:00',
          渠道: '12345热线',
          类型: '投诉',
          内容: '城市管理/噪音 回电13812345678',
          区: '包河区',
          状态: '已办结',
          来电号码: '13812345678',
        }),
      ),
    );
    expect(out.deadLetters).toEqual([]);
    const row = out.rows[0]!.row;
    expect(row).toMatchObject({ channel: 'phone', request_type: 'complaint', status: 'closed', region_code: '340111' });
    expect(row.caller_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.caller_key_id).toBe('k7');
    expect(JSON.stringify(row)).not.toContain('13812345678');
  });
});

describe('a mapping file that is not valid is refused before any record', () => {
  it('names the key and its line', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'dataset: sensor_reading\nfields:\n  value: { path: v, divide_by: 0 }\n  unit: { pth: u }\n');
    const error = (() => {
      try {
        loadMappingFile(file, 'sensor');
      } catch (e) {
        return e;
      }
    })() as MappingFileError;
    expect(error).toBeInstanceOf(MappingFileError);
    expect(error.problems.join('\n')).toMatch(/fields\.value\.divide_by \(line 3\): must not be 0/);
    expect(error.problems.join('\n')).toMatch(/fields\.unit \(line 4\):.*pth/);
  });

  it('a field the dataset does not have (a typo, a prototype key) fails at compile, naming it', async () => {
    for (const name of ['devce_id', 'constructor']) {
      const file = join(dir, `bad-field-${name}.yaml`);
      await writeFile(file, `dataset: sensor_reading\nfields:\n  "${name}": dev\n`);
      expect(() => compileMapping(loadMappingFile(file, 'sensor'), catalogs)).toThrow(
        new RegExp(`field ${name}: not a field of sensor_reading`),
      );
    }
    const proto = join(dir, 'bad-field-proto.yaml');
    await writeFile(proto, 'dataset: sensor_reading\nfields:\n  "__proto__": dev\n');
    expect(() => loadMappingFile(proto, 'sensor')).toThrow(/fields\.__proto__: not a field of any dataset/);
  });

  it('an unknown time token or zone fails at compile, naming the field', async () => {
    const file = join(dir, 'bad-time.yaml');
    await writeFile(
      file,
      'dataset: sensor_reading\ntime_zone: Mars/Olympus\nfields:\n  observed_at: { path: t, time: YYYY-QQ }\n',
    );
    expect(() => compileMapping(loadMappingFile(file, 'sensor'), catalogs)).toThrow(/field observed_at/);
  });
});
