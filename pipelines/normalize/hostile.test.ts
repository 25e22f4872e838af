import { describe, expect, it } from 'vitest';
import type { DataResource } from '../../schemas/index.js';
import { builtinMapping } from '../mapping/index.js';
import type { SourceMapping } from './mappings/index.js';
import { type NormalizedMessage, Normalizer, type NormalizerOptions } from './normalizer.js';

/**
 * Hostile payloads (issue 6 item 1): one bad message must become one dead letter with a reason, never an exception
 * that stops the partition, and never a row the Parquet writer would refuse for the whole batch.
 */
const NOW = Date.parse('2026-08-05T12:00:00+08:00');

function normalizer(feed: 'sensor' | 'hotline' | 'dept' | 'video', overrides: Partial<NormalizerOptions> = {}) {
  return new Normalizer(feed, {
    salt: 'hangzhou-12345-salt',
    regionCodes: new Set(['330000', '330100', '330106']),
    maxPayloadBytes: 32 * 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => NOW,
    ...overrides,
  });
}

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function accounted(out: NormalizedMessage): NormalizedMessage {
  const deadLettered = out.deadLetters.reduce((n, d) => n + (d.records ?? 1), 0);
  expect(out.received).toBe(out.landed + deadLettered);
  return out;
}

const reading = {
  dev: 'GAS-330106-0001',
  kind: 'gas_methane',
  metric: 'methane',
  val: 0.8,
  unit: 'ppm',
  ts: '2026-08-01 08:00:00',
  adcode: '330106',
};

const delivery = (records: unknown, resourceCode = 'R330106003') => ({
  deliveryId: `D-${resourceCode}-20260801`,
  resourceCode,
  dept: '330106-SJ',
  adcode: '330106',
  deliveredAt: '2026-08-01 02:00:00',
  file: 'inbox/330106/R330106003-20260801.csv',
  checksum: 'sha256:00',
  records,
});

function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

describe('code-table lookups never reach Object.prototype', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'a metric named %s is validated, not a crash',
    (metric) => {
      const out = accounted(normalizer('sensor').normalize(bytes({ ...reading, metric })));
      // Not a known metric: no unit conversion, the row lands or is refused by the schema, never an internal error.
      for (const d of out.deadLetters) expect(d.reason_code).not.toBe('internal_error');
      expect({} as Record<string, unknown>).not.toHaveProperty('polluted');
    },
  );

  it.each(['constructor', '__proto__', 'valueOf'])('a unit named %s is an unmapped code', (unit) => {
    const out = accounted(normalizer('sensor').normalize(bytes({ ...reading, unit })));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['unmapped_code']);
  });

  it('a __proto__ key in a payload pollutes nothing', () => {
    const out = accounted(
      normalizer('sensor').normalize(bytes(`{"__proto__":{"polluted":1},${JSON.stringify(reading).slice(1)}`)),
    );
    expect(out.landed + out.deadLetters.length).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('text a Parquet writer refuses is dead-lettered per record', () => {
  it('a lone surrogate in a sensor field is invalid_unicode', () => {
    const text = JSON.stringify(reading).replace('"GAS-330106-0001"', '"GAS-\\ud800"');
    const out = accounted(normalizer('sensor').normalize(Buffer.from(text)));
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]).toMatchObject({ reason_code: 'invalid_unicode', issues: [{ path: 'dev' }] });
    expect(out.deadLetters[0]!.raw.isWellFormed()).toBe(true);
  });

  it('a well-formed surrogate pair (an emoji escape) is fine', () => {
    const text = JSON.stringify(delivery([{ 名称: 'PLACEHOLDER' }])).replace('PLACEHOLDER', '\\ud83d\\ude00');
    expect(accounted(normalizer('dept').normalize(Buffer.from(text))).landed).toBe(1);
  });

  it('a lone surrogate in one delivered record rejects that record only', () => {
    const text = JSON.stringify(delivery([{ 名称: 'ok' }, { 名称: 'PLACEHOLDER' }])).replace('PLACEHOLDER', '\\udc00');
    const out = accounted(normalizer('dept').normalize(Buffer.from(text)));
    expect(out.landed).toBe(1);
    expect(out.deadLetters).toMatchObject([
      { reason_code: 'invalid_unicode', line: 2, issues: [{ path: 'records[1].名称' }] },
    ]);
  });

  it('invalid UTF-8 is invalid_utf8, never landed as U+FFFD', () => {
    const good = bytes(reading);
    const bad = Buffer.concat([good.subarray(0, 10), Buffer.from([0xff, 0xfe]), good.subarray(10)]);
    const out = accounted(normalizer('sensor').normalize(bad));
    expect(out.rows).toHaveLength(0);
    expect(out.deadLetters[0]!.reason_code).toBe('invalid_utf8');
  });
});

describe('depth and size are limited before any recursive work', () => {
  it('a 100,000-level nesting inside a delivered record is too_deep', () => {
    const text = JSON.stringify(delivery([{ 名称: 'x' }])).replace('"x"', nested(100_000));
    const out = accounted(normalizer('dept').normalize(Buffer.from(text)));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['too_deep']);
  });

  it('a 100,000-level nesting inside an invalid hotline order is too_deep, and its dead letter keeps no phone', () => {
    const text = `{"orderNo":"A","caller":{"phone":"13812345678"},"x":${nested(100_000)}}`;
    const out = accounted(normalizer('hotline').normalize(Buffer.from(text)));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['too_deep']);
    expect(out.deadLetters[0]!.raw).not.toContain('13812345678');
  });

  it('brackets inside strings do not count as nesting', () => {
    const out = accounted(normalizer('sensor').normalize(bytes({ ...reading, dev: '['.repeat(500) })));
    expect(out.deadLetters.map((d) => d.reason_code)).not.toContain('too_deep');
  });

  it('a 20 MiB string is string_too_long', () => {
    const out = accounted(normalizer('sensor').normalize(bytes({ ...reading, dev: 'x'.repeat(20 * 1024 * 1024) })));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['string_too_long']);
    expect(out.deadLetters[0]!.raw.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('200,000 empty records in one delivery are refused whole as too_many_records, each counted', () => {
    const out = accounted(
      normalizer('dept', { maxRecordsPerMessage: 100_000 }).normalize(
        bytes(delivery(Array.from({ length: 200_000 }, () => ({})))),
      ),
    );
    expect(out).toMatchObject({ received: 200_000, landed: 0 });
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]).toMatchObject({ reason_code: 'too_many_records', records: 200_000 });
  });
});

describe('an unexpected failure of one message is an internal_error dead letter', () => {
  it('a mapping that throws a TypeError dead-letters the message instead of throwing', () => {
    const broken: SourceMapping = {
      ...builtinMapping('video'),
      map: () => {
        throw new TypeError('boom in a code table');
      },
    };
    const video = normalizer('video', { mapping: broken });
    const out = accounted(
      video.normalize(
        bytes({
          alarmId: 'A1',
          cameraId: 'C1',
          vendor: 'hik',
          eventCode: '890',
          score: 90,
          time: '2026-08-01 08:00:00',
          areaCode: '330106',
          state: 'new',
          stateTime: '2026-08-01 08:00:00',
        }),
      ),
    );
    expect(out.deadLetters).toMatchObject([
      { reason_code: 'internal_error', issues: [{ message: expect.stringContaining('boom in a code table') }] },
    ]);
  });
});

describe('delivered records are validated against the fields their resource declares (item 8)', () => {
  const resources: DataResource[] = [
    {
      resource_code: 'R330106003',
      name: '街面保洁巡查记录',
      department_code: '330106-SJ',
      region_code: '330106',
      share_type: 'unconditional',
      update_frequency: 'daily',
      fields: [
        { name: '名称', type: 'text', required: true },
        { name: '数量', type: 'integer', required: true },
        { name: '日期', type: 'date', required: true },
        { name: '金额', type: 'decimal', required: false },
        { name: '统一社会信用代码', type: 'code', required: false, pattern: '[0-9A-HJ-NPQRTUWXY]{18}' },
      ],
    },
  ];
  const dept = () => normalizer('dept', { dataResources: resources });

  it('lands a record whose values fit their declared types', () => {
    const out = accounted(
      dept().normalize(bytes(delivery([{ 名称: '文三路', 数量: '12', 日期: '2026/08/01', 金额: '3.5' }]))),
    );
    expect(out.landed).toBe(1);
    expect(out.rows[0]!.row).toMatchObject({ valid_count: 1 });
  });

  it('dead-letters a record with a date that does not exist and a number that is not one, naming each field', () => {
    const out = accounted(
      dept().normalize(
        bytes(
          delivery([
            { 名称: '文三路', 数量: 'abc', 日期: '2026/13/45' },
            { 名称: 'x', 数量: 1, 日期: '20260801' },
          ]),
        ),
      ),
    );
    expect(out.landed).toBe(1);
    expect(out.rows[0]!.row).toMatchObject({ record_count: 2, valid_count: 1 });
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]).toMatchObject({ reason_code: 'invalid', line: 1 });
    expect(out.deadLetters[0]!.issues.map((i) => i.path)).toEqual(['records[0].数量', 'records[0].日期']);
  });

  it('a missing required field and a code that does not match its pattern are invalid', () => {
    const out = accounted(
      dept().normalize(bytes(delivery([{ 名称: 'x', 日期: '2026年8月1日', 数量: 2, 统一社会信用代码: 'not-a-code' }]))),
    );
    expect(out.landed).toBe(0);
    expect(out.deadLetters[0]!.issues.map((i) => i.path)).toEqual(['records[0].统一社会信用代码']);
    const missing = accounted(dept().normalize(bytes(delivery([{ 名称: 'x', 日期: '2026-08-01' }]))));
    expect(missing.deadLetters[0]!.issues).toEqual([
      { path: 'records[0].数量', message: 'required field is missing or empty' },
    ]);
  });

  it('a resource without declared fields keeps the fallback rule (any non-empty value)', () => {
    const out = accounted(dept().normalize(bytes(delivery([{ a: 'abc' }, {}], 'R330106999'))));
    expect(out.landed).toBe(1);
    expect(out.deadLetters).toHaveLength(1);
  });
});

describe('keys that only an attack sends', () => {
  it('an own __proto__ key beside valid fields dead-letters the message', () => {
    const text = `{"__proto__":{"polluted":1},${JSON.stringify(reading).slice(1)}`;
    const out = accounted(normalizer('sensor').normalize(Buffer.from(text)));
    expect(out.deadLetters).toMatchObject([{ reason_code: 'invalid', issues: [{ path: '__proto__' }] }]);
  });

  it('constructor.prototype nested in a delivered record dead-letters the delivery, counting each record', () => {
    const out = accounted(
      normalizer('dept').normalize(bytes(delivery([{ a: 1 }, { b: { constructor: { prototype: { x: 1 } } } }]))),
    );
    expect(out).toMatchObject({ received: 2, landed: 0 });
    expect(out.deadLetters[0]).toMatchObject({ issues: [{ path: 'records.1.b.constructor.prototype' }], records: 2 });
  });
});

describe('a hotline message the masker could not parse before the bus', () => {
  it('is dead-lettered with the masker reason and only its scrubbed preview', () => {
    const envelope = {
      _cityhub_unmaskable: {
        reason_code: 'invalid_utf8',
        message: 'payload is not valid UTF-8',
        preview: '{"caller":＊＊',
      },
    };
    const out = accounted(normalizer('hotline').normalize(bytes(envelope)));
    expect(out.deadLetters).toMatchObject([{ reason_code: 'invalid_utf8', raw: '{"caller":＊＊' }]);
  });
});
