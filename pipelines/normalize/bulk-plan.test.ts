import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinMappingPath, loadMappingFile } from '../mapping/load.js';
import { bulkKinds, lastStringClasses } from './bulk-eligible.js';
import { BulkPlan } from './bulk-plan.js';

const dir = mkdtempSync(join(tmpdir(), 'cityhub-bulk-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const limits = { maxPayloadBytes: 1024 * 1024, maxDepth: 64, maxStringBytes: 1024 * 1024 };
const options = {
  regionCodes: new Set(['330106']),
  maxPayloadBytes: limits.maxPayloadBytes,
  minEventMs: Date.parse('2000-01-01T00:00:00Z'),
  maxFutureSkewMs: 24 * 3600_000,
};

/** The sensor plan's statement over these payloads, as the lander runs it: `_ok` and the read coordinates by seq. */
async function mapSensor(payloads: Record<string, unknown>[], { classes = true } = {}) {
  const built = BulkPlan.of(loadMappingFile(builtinMappingPath('sensor'), 'sensor'), options);
  if (!built.ok) throw new Error(built.reason);
  const plan = built.plan;
  expect(plan.readsStringClasses).toBe(true);
  const lines = payloads.map((payload, seq) => {
    const value = Buffer.from(JSON.stringify(payload));
    const kinds = bulkKinds(value, limits, plan.kindedTops, 0, value.length, plan.classedSlots);
    expect(kinds, JSON.stringify(payload)).toBeGreaterThanOrEqual(0);
    const classed = classes ? `,${lastStringClasses()}` : '';
    return `{"a":[${seq},0,${seq},0,${kinds}${classed}],"v":${value}}`;
  });
  const file = join(dir, `lines-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const statement of plan.setupSql()) await connection.run(statement);
    const metas = [{ source: 'test', ingestedAt: '2026-12-05T00:00:00.000Z' }];
    const sql = plan.selectSql({ file, topic: 'raw.sensor', metas, now: Date.parse('2026-12-05T00:00:00Z') });
    const reader = await connection.runAndReadAll(`select seq, _ok, value, lon, lat from (${sql}) order by seq`);
    return reader.getRowObjectsJS().map((row) => ({
      seq: Number(row.seq),
      _ok: row._ok as boolean,
      value: row.value as number | null,
      lon: row.lon as number | null,
      lat: row.lat as number | null,
    }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const reading = {
  dev: 'GAS-330106-0001',
  kind: 'gas_methane',
  metric: 'methane',
  val: 12.5,
  unit: 'ppm',
  ts: '2026-12-04 08:58:33',
  adcode: '330106',
  lng: 120.1,
  lat: 30.2,
};

describe('the sensor statement reads its number keys as numbers', () => {
  it('maps numbers as JSON.parse reads them, and an empty text as an absent value, on the bulk path', async () => {
    const rows = await mapSensor([
      reading,
      { ...reading, lng: '', lat: '' },
      { ...reading, lng: null },
      { ...reading, val: '' },
      { ...reading, lat: ' ' },
      { ...reading, lat: '30.2' },
      { ...reading, val: true },
      { ...reading, val: [1] },
    ]);
    expect(rows.map((row) => row.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rows[0]).toMatchObject({ _ok: true, lon: 120.1, lat: 30.2 });
    // lon and lat are optional: empty text or null is no value (as the record path reads it), and the row is sure.
    expect(rows[1]).toMatchObject({ _ok: true, lon: null, lat: null });
    expect(rows[2]).toMatchObject({ _ok: true, lon: null, lat: 30.2 });
    // The value is required: absent, the record path dead-letters it (not sure here, so it goes there).
    expect(rows[3]!._ok).toBe(false);
    // Text that is not empty, and any other JSON value, is the record path's to judge.
    for (const row of rows.slice(4)) expect(row._ok, `seq ${row.seq}`).toBe(false);
  });
});

describe("the sensor statement checks identifiers and codes by their strings' classes", () => {
  const payloads = [
    reading,
    { ...reading, dev: '_GAS-1' },
    { ...reading, dev: 'GAS..1' },
    { ...reading, dev: 'G'.repeat(65) },
    { ...reading, dev: '燃气-1' },
    { ...reading, dev: 'GAS/1' },
    { ...reading, dev: 'GAS//1' },
    { ...reading, dev: '1234' },
    { ...reading, adcode: '33010' },
    { ...reading, adcode: 'x30106' },
    { ...reading, adcode: '３３０１０６' },
    { ...reading, grid: '330106001001001' },
    { ...reading, grid: '33010600100100x' },
    { ...reading, metric: 'meth ane' },
  ];
  // As zod judges each (the record path): only these are sure.
  const sure = [true, false, false, false, true, true, false, true, false, false, false, true, false, false];

  it("gives the record path's answer with the classes, and without them (the patterns run)", async () => {
    for (const classes of [true, false]) {
      const rows = await mapSensor(payloads, { classes });
      expect(
        rows.map((row) => row._ok),
        `classes ${classes}`,
      ).toEqual(sure);
    }
  });
});
