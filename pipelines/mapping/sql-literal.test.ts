import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlLiteralError, sqlDouble, sqlIdentifier, sqlJsRound, sqlString } from './sql-literal.js';

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

async function selectList(expressions: string[]): Promise<unknown[]> {
  const reader = await duck.runAndReadAll(`select ${expressions.map((e, i) => `${e} as c${i}`).join(', ')}`);
  return reader.getRows()[0]!;
}

describe('sql literals come back out of DuckDB exactly as they went in', () => {
  it('strings with quotes, backslashes, NUL, newlines, comment markers and astral characters', async () => {
    const texts = ["it's", "''", '\\', '\\0', '\0', 'a\0b\0', '\n\r\t', '-- x', '/* x */', '中文', '😀', '', '$$'];
    expect(await selectList(texts.map(sqlString))).toEqual(texts);
  });

  it('doubles, bit for bit', async () => {
    const numbers = [0.1, 0.002, 5 / 9, -160 / 9, 1e-300, 4.9e-324, 1.7976931348623157e308, 2 ** 53 + 2, 1e21, -0.5];
    expect(await selectList(numbers.map(sqlDouble))).toEqual(numbers);
  });

  it('rounds halves as Math.round does, where DuckDB round() differs', async () => {
    const values = [-2.5, -0.5, 0.5, 2.5, 0.49999999999999994, -1.5, 4503599627370495.5, 1.4999999999999998];
    const rounded = await selectList(values.map((v) => sqlJsRound(sqlDouble(v))));
    expect(rounded.map((n) => (n === 0 ? 0 : n))).toEqual(values.map((v) => Math.round(v) || 0));
  });

  it('quotes identifiers and refuses what SQL text cannot hold', async () => {
    expect(await selectList([`(select 1 as ${sqlIdentifier('a "b"')})`])).toEqual([1]);
    expect(() => sqlString('\ud800')).toThrow(SqlLiteralError);
    expect(() => sqlIdentifier('a\0')).toThrow(SqlLiteralError);
  });
});
