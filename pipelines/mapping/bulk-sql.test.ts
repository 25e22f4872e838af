import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileBulkSql } from './bulk-sql.js';
import { builtinMappingPath, loadMappingFile } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'cityhub-bulk-sql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The top-level keys a sensor mapping's statement reads as numbers (DOUBLE), given its fields. */
function numberKeys(fields: string): string[] {
  const file = join(dir, `m${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `dataset: sensor_reading\ndescription: test\nfields:\n${fields}`);
  const compiled = compileBulkSql(loadMappingFile(file, 'sensor'));
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.sql.numberPaths.map((k) => compiled.sql.paths[k - 1]!.join('.'));
}

const base = `  device_id: dev
  device_type: kind
  metric: metric
  unit: unit
  observed_at: { path: ts, type: time }
  region_code: adcode
`;

describe('compileBulkSql: the keys DuckDB reads as numbers', () => {
  it('reads a key as a number where only bare number fields read it (no cast, no text of it anywhere)', () => {
    expect(numberKeys(`${base}  value: val\n  lon: lng\n  lat: lat\n`)).toEqual(['val', 'lng', 'lat']);
    // A scale after the number reads the number too.
    expect(numberKeys(`${base}  value: { path: val, multiply_by: 10 }\n`)).toEqual(['val']);
    const builtin = compileBulkSql(loadMappingFile(builtinMappingPath('sensor'), 'sensor'));
    expect(builtin.ok && builtin.sql.numberPaths.map((k) => builtin.sql.paths[k - 1]!.join('.'))).toEqual([
      'val',
      'lng',
      'lat',
    ]);
  });

  it('reads it as text where any field needs its text: a cast, a time, joined paths, text, or a path under it', () => {
    // `type: number` also takes numeric text (its string content).
    expect(numberKeys(`${base}  value: { path: val, type: number }\n`)).toEqual([]);
    // The same key read by a text field too.
    expect(numberKeys(`${base}  value: val\n  grid_code: { path: val, type: text }\n`)).toEqual([]);
    expect(numberKeys(`${base}  value: val\n  grid_code: { path: [val, lng], join: '-' }\n  lon: lng\n`)).toEqual([]);
    // A time read from the key, or a child of it read.
    const timeFromVal = base.replace('{ path: ts, type: time }', '{ path: val, type: time }');
    expect(numberKeys(`${timeFromVal}  value: val\n`)).toEqual([]);
    expect(numberKeys(`${base}  value: val\n  lon: val.x\n`)).toEqual([]);
  });
});

describe('compileBulkSql: unit conversions', () => {
  it('converts only to units the canonical-units table can give, and to all of them when it passes units through', () => {
    const file = join(dir, 'units.yaml');
    const measured = (table: string) => {
      writeFileSync(
        file,
        `dataset: sensor_reading\ndescription: test\nfields:\n${base}  value: val\nmeasurement:\n  value: value\n  unit: unit\n  metric: metric\n  canonical_units: ${table}\n`,
      );
      const compiled = compileBulkSql(loadMappingFile(file, 'sensor'));
      if (!compiled.ok) throw new Error(compiled.reason);
      return compiled.sql.measurement!.conversions;
    };
    const two = measured(`{ entries: { methane: ppm, pressure: kPa } }`);
    expect(new Set(two.map((c) => c.to))).toEqual(new Set(['ppm', 'kPa']));
    // Every unit of the two dimensions converts to them (the gas dimension's three, the pressure's four).
    expect(two.filter((c) => c.to === 'ppm').map((c) => c.from)).toEqual(
      expect.arrayContaining(['%LEL', 'ppm', '%VOL']),
    );
    expect(two.filter((c) => c.to === 'kPa').map((c) => c.from)).toEqual(
      expect.arrayContaining(['Pa', 'kPa', 'MPa', 'bar']),
    );
    const any = measured(`{ entries: { methane: ppm }, on_missing: pass_through }`);
    expect(new Set(any.map((c) => c.to)).size).toBeGreaterThan(20);
  });
});
