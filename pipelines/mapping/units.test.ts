import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlDouble } from './sql-literal.js';
import { convert, knownUnits, toSql, unitConversion, unitDimension } from './units.js';

let instance: DuckDBInstance;
let duck: DuckDBConnection;

/** Values with binary noise, halves at the 1e-9 rounding step, tiny, huge and negative numbers. */
function sampleValues(): number[] {
  let seed = 7;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const values = [0, 1, -1, 0.8, 0.1, 0.15, 1.005, 2.675, 5e-10, 1.5e-9, 2.5e-9, -2.5e-9, 212, -40, 1e-12, 123456.789];
  values.push(1e12, 2 ** 53 + 2, 1.7976931348623157e308, 4.9e-324);
  for (let i = 0; i < 400; i++) {
    const magnitude = 10 ** (Math.floor(random() * 16) - 8);
    const sign = random() < 0.2 ? -1 : 1;
    values.push(sign * Math.round(random() * 1e6) * magnitude);
    values.push(sign * random() * magnitude);
  }
  return values;
}
const values = sampleValues();

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  duck = await instance.connect();
  const rows = values.map((value, index) => `(${index}, ${sqlDouble(value)})`).join(', ');
  await duck.run(`create table sample as select * from (values ${rows}) as input(i, v)`);
});
afterAll(() => {
  duck?.closeSync();
  instance?.closeSync();
});

/** ±0 compare equal in both engines; DuckDB does not keep JS's -0 from rounding (documented in units.ts). */
const unsignedZero = (n: number) => (n === 0 ? 0 : n);

describe('unitConversion', () => {
  it('uses the factors of the sensor mapping for every unit it converts (docs/feeds.md)', () => {
    const documented: [string, string, number][] = [
      ['ppm', '%LEL', 0.002],
      ['%VOL', '%LEL', 20],
      ['kPa', 'MPa', 0.001],
      ['bar', 'MPa', 0.1],
      ['L/s', 'm3/h', 3.6],
      ['m', 'cm', 100],
      ['mm', 'cm', 0.1],
      ['cm', 'mm', 10],
      ['ue', 'με', 1],
      ['deg', '°', 1],
      ['C', '℃', 1],
    ];
    for (const [from, to, factor] of documented) expect(unitConversion(from, to)).toEqual({ factor, offset: 0 });
  });

  it('converts like the sensor mapping, without binary noise: 0.1 L/s is 0.36 m3/h, not 0.36000000000000004', () => {
    expect(0.1 * 3.6).not.toBe(0.36);
    expect(convert(0.1, unitConversion('L/s', 'm3/h')!)).toBe(0.36);
    expect(convert(0.8, unitConversion('ppm', '%LEL')!)).toBe(0.0016);
    expect(convert(10, unitConversion('L/s', 'm3/h')!)).toBe(36);
    expect(convert(250, unitConversion('kPa', 'MPa')!)).toBe(0.25);
    expect(convert(1.5, unitConversion('m', 'cm')!)).toBe(150);
    expect(convert(3, unitConversion('mm', 'm')!)).toBe(0.003);
    expect(convert(2_000, unitConversion('ppm', '%VOL')!)).toBe(0.2);
    expect(convert(0.1234567891234, unitConversion('m³/h', 'm3/h')!)).toBe(0.1234567891234);
  });

  it('converts temperature with its offset, both ways', () => {
    expect(convert(212, unitConversion('℉', '℃')!)).toBe(100);
    expect(convert(-40, unitConversion('°F', '°C')!)).toBe(-40);
    expect(convert(100, unitConversion('℃', '℉')!)).toBe(212);
    expect(convert(36.6, unitConversion('C', '°F')!)).toBe(97.88);
  });

  it('refuses units of different dimensions and unknown units', () => {
    expect(unitConversion('ppm', 'MPa')).toBeUndefined();
    expect(unitConversion('m', 'm3/h')).toBeUndefined();
    expect(unitConversion('furlong', 'm')).toBeUndefined();
    expect(unitConversion('m', 'furlong')).toBeUndefined();
    expect(unitConversion('constructor', 'toString')).toBeUndefined();
    expect(unitDimension('microstrain')).toBe('strain');
    expect(unitDimension('__proto__')).toBeUndefined();
  });
});

describe('units toSql: DuckDB gives the identical DOUBLE', () => {
  const all = knownUnits();
  for (const [dimension, names] of Object.entries(all)) {
    it(`every pair of ${dimension} units over ${values.length} values`, async () => {
      const pairs = names.flatMap((from) => names.map((to) => [from, to] as const));
      const columns = pairs.map(([from, to], k) => `${toSql('v', unitConversion(from, to)!)} as c${k}`);
      const reader = await duck.runAndReadAll(`select ${columns.join(', ')} from sample order by i`);
      const rows = reader.getRows();
      pairs.forEach(([from, to], k) => {
        const conversion = unitConversion(from, to)!;
        const expected = values.map((value) => unsignedZero(convert(value, conversion)));
        const actual = rows.map((row) => unsignedZero(row[k] as number));
        expect(actual, `${from} → ${to}`).toEqual(expected);
      });
    });
  }
});
