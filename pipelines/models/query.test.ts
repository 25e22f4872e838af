import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileAccessQueryError,
  MartsFileError,
  MartsQueryError,
  queryMarts,
  ReadOnlyQueryError,
  streamQuery,
} from './index.js';
import { tempDirs } from './testing.js';

let dirs: Awaited<ReturnType<typeof tempDirs>>;
let martsPath: string;
let dir: string;
let lakeDir: string;

beforeAll(async () => {
  dirs = await tempDirs();
  dir = await dirs.make();
  martsPath = join(dir, 'marts.duckdb');
  const instance = await DuckDBInstance.create(martsPath);
  const connection = await instance.connect();
  await connection.run(`create table t as select 1 as id, '西湖区' as name`);
  lakeDir = join(dir, 'lake');
  await mkdir(join(lakeDir, 'sensor_reading', 'dt=2026-08-01'), { recursive: true });
  await connection.run(
    `copy (select 'dev-' || i as device_id from range(3) r(i)) to '${join(lakeDir, 'sensor_reading', 'dt=2026-08-01', 'a.parquet')}' (format parquet)`,
  );
  await mkdir(join(dir, 'lake2'));
  await writeFile(join(dir, 'lake2', 'beside.csv'), 'a\n1\n');
  connection.closeSync();
  instance.closeSync();
});
afterAll(async () => {
  await dirs.cleanup();
});

describe('queryMarts', () => {
  it('returns JSON-friendly values', async () => {
    const r = await queryMarts({
      martsPath,
      sql: `select 42::bigint as n, 170141183460469231731687303715884105727::hugeint as huge, 1.25::decimal(5, 2) as dec,
              0.5::double as x, true as b, null as nothing, date '2026-08-01' as d,
              timestamptz '2026-08-01 00:00:00.123456+00' as tz, timestamp '2026-08-01 08:00:00' as ts,
              ['a', 'b'] as list, {'k': 1} as st, name from t`,
    });
    expect(r.columns).toEqual(['n', 'huge', 'dec', 'x', 'b', 'nothing', 'd', 'tz', 'ts', 'list', 'st', 'name']);
    expect(r.rows).toEqual([
      [
        42,
        '170141183460469231731687303715884105727',
        1.25,
        0.5,
        true,
        null,
        '2026-08-01',
        '2026-08-01T00:00:00.123456Z',
        '2026-08-01T08:00:00.000',
        ['a', 'b'],
        { k: 1 },
        '西湖区',
      ],
    ]);
  });

  it('answers SHOW, DESCRIBE and EXPLAIN', async () => {
    expect((await queryMarts({ martsPath, sql: 'show tables' })).rows).toEqual([['t']]);
    expect((await queryMarts({ martsPath, sql: 'describe t' })).rows.map((r) => r[0])).toEqual(['id', 'name']);
    expect((await queryMarts({ martsPath, sql: 'explain select * from t' })).rows.length).toBeGreaterThan(0);
  });

  it.each([
    "insert into t values (2, 'x')",
    'create table u as select 1',
    'create temp table u as select 1',
    'drop table t',
    'update t set id = 3',
    'checkpoint',
    "copy t to '/tmp/cityhub-should-not-exist.csv'",
    "attach '/tmp/cityhub-other.duckdb' as other",
    'set threads = 1',
  ])('rejects writes and side effects: %s', async (sql) => {
    const err = await queryMarts({ martsPath, sql }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadOnlyQueryError);
    expect((await queryMarts({ martsPath, sql: 'select count(*) from t' })).rows).toEqual([[1]]);
  });

  it('does not read other files', async () => {
    await writeFile(join(dir, 'secret.csv'), 'a\n1\n');
    const err = await queryMarts({ martsPath, sql: `select * from read_csv('${join(dir, 'secret.csv')}')` }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MartsQueryError);
  });

  it('reports bad SQL, several statements and a missing file as typed errors', async () => {
    const bad = await queryMarts({ martsPath, sql: 'select nope from t' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(MartsQueryError);
    expect(bad).not.toBeInstanceOf(ReadOnlyQueryError);
    expect((bad as MartsQueryError).sql).toBe('select nope from t');
    const two = await queryMarts({ martsPath, sql: 'select 1; select 2' }).catch((e: unknown) => e);
    expect(two).toBeInstanceOf(MartsQueryError);
    const missing = await queryMarts({ martsPath: join(dir, 'missing.duckdb'), sql: 'select 1' }).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(MartsFileError);
  });

  it('streams a result larger than one chunk, in order, without collecting it', async () => {
    const chunkSizes: number[] = [];
    let next = 0;
    let inOrder = true;
    const count = await streamQuery(
      { martsPath, sql: 'select range as n from range(300000)' },
      {
        columns: (names) => expect(names).toEqual(['n']),
        rows: (rows) => {
          chunkSizes.push(rows.length);
          for (const [n] of rows) if (n !== next++) inOrder = false;
        },
      },
    );
    expect(count).toBe(300000);
    expect(next).toBe(300000);
    expect(inOrder).toBe(true);
    expect(chunkSizes.length).toBeGreaterThan(1);
    expect(Math.max(...chunkSizes)).toBeLessThanOrEqual(2048);
  });
});

describe('queryMarts with the lake folder', () => {
  it("reads the lake's Parquet files", async () => {
    const r = await queryMarts({
      martsPath,
      lakeDir,
      sql: `select count(*) as n from read_parquet('${lakeDir}/sensor_reading/**/*.parquet')`,
    });
    expect(r.rows).toEqual([[3]]);
  });

  it.each([
    ['a file outside the lake', () => `select * from read_csv('${join(dir, 'lake2', 'beside.csv')}')`],
    ['a path leaving the lake with ..', () => `select * from read_csv('${lakeDir}/../lake2/beside.csv')`],
    ['the lake without being given the lake folder', () => `select * from read_parquet('${lakeDir}/**/*.parquet')`],
  ])('refuses to read %s, naming the file', async (what, sql) => {
    const err = await queryMarts({
      martsPath,
      lakeDir: what.startsWith('the lake') ? undefined : lakeDir,
      sql: sql(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileAccessQueryError);
    expect((err as Error).message).toMatch(
      /queries may read the marts and (only files under the lake .*, read-only|no files); ".*" is refused/,
    );
  });

  it.each([
    () => `copy (select 1) to '${join(dir, 'x.csv')}'`,
    () => `copy (select 1) to '${join(dir, 'lake2', 'x.csv')}'`,
    () => `copy (select 1) to '${join(lakeDir, 'x.csv')}'`,
    () => `attach '${join(lakeDir, 'other.duckdb')}' as other`,
    () => 'install httpfs',
    () => `create table u as select * from read_parquet('${lakeDir}/**/*.parquet')`,
  ])('refuses writes, also into the lake (%#)', async (sql) => {
    const err = await queryMarts({ martsPath, lakeDir, sql: sql() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadOnlyQueryError);
    await expect(access(join(lakeDir, 'x.csv'))).rejects.toThrow();
    await expect(access(join(dir, 'x.csv'))).rejects.toThrow();
  });
});
