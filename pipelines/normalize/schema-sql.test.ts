import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type DatasetName, datasets } from '../../schemas/index.js';
import { sqlString } from '../mapping/sql-literal.js';
import { schemaSql } from './schema-sql.js';

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
function stringFields(): { dataset: DatasetName; name: string; schema: z.ZodType; check: (x: string) => string }[] {
  const out = [];
  for (const dataset of Object.keys(datasets) as DatasetName[]) {
    const compiled = schemaSql(dataset);
    if (!compiled.ok) continue;
    for (const [name, schema] of Object.entries(datasets[dataset].shape as Record<string, z.ZodType>)) {
      if (!schema.safeParse('a').success && !schema.safeParse('330102').success && !schema.safeParse('GAS-1').success)
        continue; // not a free text field (an enum, a number, a time)
      out.push({ dataset, name, schema, check: compiled.fields.get(name)!.check });
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
