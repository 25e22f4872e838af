import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type DatasetName, datasets } from '../../schemas/index.js';
import { StringClass } from '../mapping/bulk-sql.js';
import { sqlString } from '../mapping/sql-literal.js';
import { patternByClass, schemaSql } from './schema-sql.js';

let instance: DuckDBInstance;
let duck: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  duck = await instance.connect();
});
afterAll(() => {
  duck?.closeSync();
  instance?.closeSync();
});

const repeat = (text: string, n: number) => text.repeat(n);
/** Text around every string rule of the schemas: lengths at the limits, classes of characters, refusals. */
const texts = [
  'GAS-330102-0001',
  'a',
  '',
  '_lead',
  '-lead',
  'x..y',
  'x//y',
  'a/b',
  'id#1+2:3.4_5-6',
  'has space',
  'tab\there',
  'é',
  'café-01',
  '燃气表-01',
  '１２３',
  'Ωmega',
  '٣٤',
  '😀',
  'a😀',
  '330102',
  '33010',
  '3301020',
  '330102001001001',
  '33010200100100',
  '１３０１０２',
  '1234',
  'https://example.org/a/b.jpg',
  'http://cam.example.org:8080/pic?id=1&x=2',
  'ftp://example.org/x',
  'https://例子.cn/x',
  'abc\u0000',
  '\u4e00',
  '\u9fff',
  '\u9ffd-1',
  '\u4dff',
  '\ua000',
  '\u3007',
  'ａ',
  '一二三',
  '_燃',
  'ab\u0085c',
  ...[31, 32, 33, 63, 64, 65, 127, 128, 129, 511, 512, 513, 1023, 1024, 1025].flatMap((n) => [
    repeat('a', n),
    repeat('燃', n),
    `${repeat('a', n - 1)}😀`,
    repeat('😀', Math.ceil(n / 2)),
  ]),
];

/** Every dataset's text fields whose checks compile, with their zod schema. */
function stringFields(): {
  dataset: DatasetName;
  name: string;
  schema: z.ZodType;
  check: (x: string) => string;
  byClass?: (x: string, t: string) => string;
}[] {
  const out = [];
  for (const dataset of Object.keys(datasets) as DatasetName[]) {
    const compiled = schemaSql(dataset);
    if (!compiled.ok) continue;
    for (const [name, schema] of Object.entries(datasets[dataset].shape as Record<string, z.ZodType>)) {
      if (!schema.safeParse('a').success && !schema.safeParse('330102').success && !schema.safeParse('GAS-1').success)
        continue; // not a free text field (an enum, a number, a time)
      const { check, byClass } = compiled.fields.get(name)!;
      out.push({ dataset, name, schema, check, ...(byClass ? { byClass } : {}) });
    }
  }
  return out;
}

describe('schemaSql: a text check passes only what zod accepts', () => {
  it('reads \\p{L} and \\p{N} over the CJK Unified Ideographs as the JS engine does (guardedClasses)', () => {
    for (let code = 0x4e00; code <= 0x9fff; code++) {
      const char = String.fromCodePoint(code);
      if (!/\p{L}/u.test(char) || /\p{N}/u.test(char)) throw new Error(`U+${code.toString(16)} is not a letter in JS`);
    }
  });

  it('agrees with zod on text at every limit, in ASCII and beyond, for every text field of every dataset', async () => {
    const fields = stringFields();
    expect(fields.length).toBeGreaterThan(10);
    const rows = texts.map((text, i) => `(${i}, ${sqlString(text)})`).join(', ');
    let sure = 0;
    for (const field of fields) {
      const reader = await duck.runAndReadAll(
        `select coalesce(${field.check('x')}, false) as ok from (values ${rows}) as t(i, x) order by i`,
      );
      const sql = reader.getRowObjects().map((row) => row.ok as boolean);
      texts.forEach((text, i) => {
        const zod = field.schema.safeParse(text).success;
        const where = `${field.dataset}.${field.name} on ${JSON.stringify(text.slice(0, 40))} (${text.length} units)`;
        // Sound: SQL never passes what zod refuses.
        if (sql[i]) expect(zod, where).toBe(true);
        // And as sure as it can be on ASCII text (the bulk path's common case stays on it).
        if (zod && /^[\x00-\x7f]*$/.test(text)) expect(sql[i], where).toBe(true);
        if (sql[i]) sure++;
      });
    }
    expect(sure).toBeGreaterThan(fields.length * 3);
  });
});

/** A text's class by its definition (bulk-sql.ts StringClass), as bulk-eligible.ts gives it to a string it read. */
function classOf(text: string): number {
  if (/^[0-9]+$/.test(text)) return StringClass.digits;
  return /^[A-Za-z0-9][A-Za-z0-9_.:#+/-]*$/.test(text) ? StringClass.word : StringClass.none;
}

describe('schemaSql: a text checked by its class', () => {
  const classed = [
    ...texts,
    ...['0', '9', '42', '0330102', '1234567890123456', 'a', 'Z9', 'GAS-1', 'a-', 'a/', 'a..b', 'a//b', 'a.b/c'],
    ...[5, 6, 7, 14, 15, 16, 63, 64, 65].flatMap((n) => [repeat('7', n), `x${repeat('7', n - 1)}`, repeat('b.', n)]),
  ];

  it('gives what zod gives on classed text, and the unclassed check on the rest, for every text field', async () => {
    const fields = stringFields().filter((field) => field.byClass);
    // The identifiers, the region and grid codes at least.
    expect(fields.length).toBeGreaterThan(8);
    const rows = classed.map((text, i) => `(${i}, ${sqlString(text)}, ${classOf(text)})`).join(', ');
    for (const field of fields) {
      const reader = await duck.runAndReadAll(
        `select coalesce(${field.byClass!('x', 't')}, false) as by_class, coalesce(${field.check('x')}, false) as plain
         from (values ${rows}) as v(i, x, t) order by i`,
      );
      reader.getRowObjects().forEach((row, i) => {
        const text = classed[i]!;
        const where = `${field.dataset}.${field.name} on ${JSON.stringify(text.slice(0, 40))}`;
        if (classOf(text) === StringClass.none) expect(row.by_class, where).toBe(row.plain);
        else expect(row.by_class, where).toBe(field.schema.safeParse(text).success);
      });
    }
  });

  it('decides a pattern only where its shape and classes make it certain', () => {
    const sql = (pattern: RegExp) => {
      const decided = patternByClass(pattern);
      return { word: decided.word?.('x'), digits: decided.digits?.('x') };
    };
    expect(sql(/^\d{6}$/)).toEqual({ word: 'false', digits: 'strlen(x) = 6' });
    expect(sql(/^[0-9]{2,4}$/)).toEqual({ word: 'false', digits: '(strlen(x) >= 2 and strlen(x) <= 4)' });
    expect(sql(/^\d+$/)).toEqual({ word: 'false', digits: 'true' });
    expect(sql(/^[\p{L}\p{N}][\p{L}\p{N}_.:#+/-]*$/u)).toEqual({ word: 'true', digits: 'true' });
    expect(sql(/^[A-Za-z0-9_.:#+/-]{1,8}$/)).toEqual({ word: '(strlen(x) <= 8)', digits: '(strlen(x) <= 8)' });
    // Lower-case letters only: some words pass, some not; no digits at all.
    expect(sql(/^[a-z]+$/)).toEqual({ word: undefined, digits: 'false' });
    // A first class without the digits: a string of digits is refused by its first character, not decided here.
    expect(sql(/^[A-Za-z][A-Za-z0-9_.:#+/-]*$/)).toEqual({ word: undefined, digits: undefined });
    for (const pattern of [/^(\d{6}|\d{9})$/, /^\d{6}/, /\d{6}$/, /^\d{6}$|^x$/, /^[0-9]{6}?$/, /^\d{6}$/i])
      expect(sql(pattern), String(pattern)).toEqual(
        pattern.flags === 'i' ? { word: 'false', digits: 'strlen(x) = 6' } : { word: undefined, digits: undefined },
      );
  });
});
