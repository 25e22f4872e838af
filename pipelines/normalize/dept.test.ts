import { describe, expect, it } from 'vitest';
import { type NormalizedMessage, Normalizer } from './normalizer.js';

/** Departmental deliveries (docs/feeds.md "dept"): one message per delivered file, counted per record. */

function dept(): Normalizer {
  return new Normalizer('dept', {
    salt: 'hangzhou-12345-salt',
    regionCodes: new Set(['330000', '330100', '330106']),
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => Date.parse('2026-08-05T12:00:00+08:00'),
  });
}

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function expectAccounted(message: NormalizedMessage): void {
  expect(message.received).toBe(message.landed + message.deadLetters.length);
}

/** 西湖区 城管局's daily file of street-cleaning inspections: one good record, one null, one empty object. */
const delivery = {
  deliveryId: 'D-R330106003-20260801',
  resourceCode: 'R330106003',
  dept: '330106-SJ',
  adcode: '330106',
  deliveredAt: '2026-08-01 02:00:00',
  file: 'inbox/330106/R330106003-20260801.csv',
  checksum: 'sha256:9f2c4e1ab07d33c1f0e5a8d2b6c4e9f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2',
  records: [{ 名称: '文三路保洁巡查', 数量: '12', 街道: '翠苑街道' }, null, {}],
};

describe('dept delivery → dept_delivery + dept_record', () => {
  it('lands one delivery row counting every record and one record row per valid record, with its line', () => {
    const out = dept().normalize(bytes(delivery));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 3, landed: 1 });
    expect(out.rows).toEqual([
      {
        dataset: 'dept_delivery',
        dt: '2026-08-01',
        row: {
          delivery_id: 'D-R330106003-20260801',
          resource_code: 'R330106003',
          department_code: '330106-SJ',
          region_code: '330106',
          delivered_at: '2026-07-31T18:00:00.000Z',
          source_file: 'inbox/330106/R330106003-20260801.csv',
          record_count: 3,
          valid_count: 1,
          checksum: delivery.checksum,
        },
      },
      {
        dataset: 'dept_record',
        dt: '2026-08-01',
        row: {
          delivery_id: 'D-R330106003-20260801',
          resource_code: 'R330106003',
          region_code: '330106',
          delivered_at: '2026-07-31T18:00:00.000Z',
          line: 1,
          record: JSON.stringify({ 名称: '文三路保洁巡查', 数量: '12', 街道: '翠苑街道' }),
        },
      },
    ]);
  });

  it('dead-letters each invalid record on its own, with its line and its own payload', () => {
    const out = dept().normalize(bytes(delivery));
    expect(out.deadLetters).toEqual([
      {
        feed: 'dept',
        reason_code: 'invalid',
        issues: [{ path: 'records[1]', message: 'expected a JSON object' }],
        raw: 'null',
        raw_truncated: false,
        line: 2,
      },
      {
        feed: 'dept',
        reason_code: 'invalid',
        issues: [{ path: 'records[2]', message: 'expected at least one non-empty value' }],
        raw: '{}',
        raw_truncated: false,
        line: 3,
      },
    ]);
  });

  it('treats a record whose cells are all empty or null as invalid', () => {
    const out = dept().normalize(bytes({ ...delivery, records: [{ 名称: '保俶路巡查' }, { 名称: '', 数量: null }] }));
    expectAccounted(out);
    expect(out.deadLetters).toMatchObject([
      { reason_code: 'invalid', line: 2, raw: '{"名称":"","数量":null}', issues: [{ path: 'records[1]' }] },
    ]);
    expect(out.rows[0]?.row).toMatchObject({ record_count: 2, valid_count: 1 });
  });

  it('dead-letters every record when the header names an unknown region, and lands no delivery row', () => {
    const out = dept().normalize(bytes({ ...delivery, adcode: '339999' }));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 3, landed: 0, rows: [] });
    expect(out.deadLetters.map((d) => [d.reason_code, d.line, d.raw])).toEqual([
      ['unknown_region', 1, JSON.stringify(delivery.records[0])],
      ['unknown_region', 2, 'null'],
      ['unknown_region', 3, '{}'],
    ]);
    expect(out.deadLetters[0]?.issues).toEqual([{ path: 'region_code', message: expect.stringContaining('339999') }]);
  });

  it('dead-letters every record when the header misses its checksum, naming the source field', () => {
    const { checksum: _c, ...headerless } = delivery;
    const out = dept().normalize(bytes(headerless));
    expectAccounted(out);
    expect(out.deadLetters).toHaveLength(3);
    expect(out.deadLetters[0]).toMatchObject({ reason_code: 'invalid', issues: [{ path: 'checksum' }] });
  });

  it('lands the delivery row of an empty delivery with record_count 0 and counts nothing received', () => {
    const out = dept().normalize(bytes({ ...delivery, deliveryId: 'D-R330106003-20260802', records: [] }));
    expect(out).toMatchObject({ received: 0, landed: 0, deadLetters: [] });
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0]).toMatchObject({ dataset: 'dept_delivery', row: { record_count: 0, valid_count: 0 } });
  });

  it('counts an empty delivery with an invalid header as one received and one dead-lettered', () => {
    const out = dept().normalize(bytes({ ...delivery, adcode: '339999', records: [] }));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 1, landed: 0, rows: [] });
    expect(out.deadLetters[0]?.reason_code).toBe('unknown_region');
  });

  it('counts a message that is not even JSON as one received, one dead-lettered', () => {
    const out = dept().normalize(bytes('名称,数量\n文三路保洁巡查,12\n'));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 1, landed: 0, rows: [] });
    expect(out.deadLetters[0]?.reason_code).toBe('malformed_json');
  });

  it('dead-letters a delivery whose records is not an array as one invalid record naming records', () => {
    const out = dept().normalize(bytes({ ...delivery, records: 'R330106003-20260801.csv' }));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 1, landed: 0, rows: [] });
    expect(out.deadLetters[0]).toMatchObject({
      reason_code: 'invalid',
      issues: [{ path: 'record_count', message: expect.stringContaining('source field "records"') }],
    });
  });

  it('dead-letters a delivery without any records field instead of throwing', () => {
    const { records: _r, ...noRecords } = delivery;
    const out = dept().normalize(bytes(noRecords));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 1, landed: 0, rows: [] });
    expect(out.deadLetters[0]?.reason_code).toBe('invalid');
  });

  it('dead-letters all records of a redelivered file (same deliveryId) as duplicate', () => {
    const n = dept();
    expect(n.normalize(bytes(delivery)).rows).toHaveLength(2);
    const again = n.normalize(bytes(delivery));
    expectAccounted(again);
    expect(again.rows).toEqual([]);
    expect(again.deadLetters.map((d) => [d.reason_code, d.line])).toEqual([
      ['duplicate', 1],
      ['duplicate', 2],
      ['duplicate', 3],
    ]);
  });
});

/** The dept-files connector's protocol: record chunks of a file, then one delivery message summing it up. */
describe('dept-files chunks and delivery messages', () => {
  const file = {
    deliveryId: 'R330106003-9f2c4e1ab07d33c1',
    resourceCode: 'R330106003',
    adcode: '330106',
    deliveredAt: '2026-07-31T18:00:00.000Z',
    file: 'R330106003_20260801.csv',
  };
  const chunk = { kind: 'records', ...file, lines: [3, 5], records: [{ 名称: '文三路保洁巡查' }, {}] };
  const summary = {
    kind: 'delivery',
    ...file,
    dept: '330106-SJ',
    checksum: 'sha256:9f2c4e1ab07d33c1f0e5a8d2b6c4e9f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2',
    records: 3,
    valid: 2,
  };

  it('lands a chunk as dept_records whose line is the file line, counting each of its records', () => {
    const out = dept().normalize(bytes(chunk));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 2, landed: 1 });
    expect(out.rows).toEqual([
      {
        dataset: 'dept_record',
        dt: '2026-08-01',
        row: {
          delivery_id: file.deliveryId,
          resource_code: 'R330106003',
          region_code: '330106',
          delivered_at: '2026-07-31T18:00:00.000Z',
          line: 3,
          record: JSON.stringify({ 名称: '文三路保洁巡查' }),
        },
      },
    ]);
    expect(out.deadLetters).toMatchObject([{ reason_code: 'invalid', line: 5, raw: '{}' }]);
  });

  it('lands a delivery message as the dept_delivery row with the file counts, counting no record itself', () => {
    const out = dept().normalize(bytes(summary));
    expect(out).toMatchObject({ received: 0, landed: 0, deadLetters: [] });
    expect(out.rows).toEqual([
      {
        dataset: 'dept_delivery',
        dt: '2026-08-01',
        row: {
          delivery_id: file.deliveryId,
          resource_code: 'R330106003',
          department_code: '330106-SJ',
          region_code: '330106',
          delivered_at: '2026-07-31T18:00:00.000Z',
          source_file: file.file,
          record_count: 3,
          valid_count: 2,
          checksum: summary.checksum,
        },
      },
    ]);
  });

  it('keeps the problem of a file and the delivery a re-delivery repeats', () => {
    const problem = dept().normalize(bytes({ ...summary, records: 0, valid: 0, problem: 'binary: NUL bytes' }));
    expect(problem.rows[0]?.row).toMatchObject({ record_count: 0, valid_count: 0, problem: 'binary: NUL bytes' });
    const again = dept().normalize(
      bytes({ ...summary, deliveryId: `${file.deliveryId}-r1`, records: 0, valid: 0, redelivery_of: file.deliveryId }),
    );
    expect(again.rows[0]?.row).toMatchObject({ delivery_id: `${file.deliveryId}-r1`, redelivery_of: file.deliveryId });
  });

  it('counts an invalid delivery message as one received and one dead-lettered', () => {
    const out = dept().normalize(bytes({ ...summary, adcode: '339999' }));
    expectAccounted(out);
    expect(out).toMatchObject({ received: 1, landed: 0, rows: [] });
    expect(out.deadLetters[0]?.reason_code).toBe('unknown_region');
  });

  it('dead-letters a delivery message sent twice as a duplicate, counted once', () => {
    const n = dept();
    n.normalize(bytes(summary));
    const again = n.normalize(bytes(summary));
    expectAccounted(again);
    expect(again).toMatchObject({ received: 1, rows: [], deadLetters: [{ reason_code: 'duplicate' }] });
  });
});
