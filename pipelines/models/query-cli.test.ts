/**
 * `cityhub query` as an analyst runs it: the built CLI (dist/, `npm run build` first) in a folder holding the demo
 * config's data/marts.duckdb and data/lake.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/support/hub-process.js';
import { tempDirs } from './testing.js';

let dirs: Awaited<ReturnType<typeof tempDirs>>;
let cwd: string;
let lakeDir: string;

beforeAll(async () => {
  dirs = await tempDirs();
  cwd = await dirs.make();
  lakeDir = join(cwd, 'data', 'lake');
  const day = join(lakeDir, 'sensor_reading', 'dt=2026-08-01');
  await mkdir(day, { recursive: true });
  const instance = await DuckDBInstance.create(join(cwd, 'data', 'marts.duckdb'));
  const connection = await instance.connect();
  try {
    await connection.run(`create table mart_x as select 1 as id`);
    await connection.run(
      `copy (select 'dev-' || i as device_id from range(5) r(i)) to '${join(day, 'a.parquet')}' (format parquet)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
});
afterAll(async () => {
  await dirs.cleanup();
});

const query = (sql: string, ...options: string[]) => runCli(['query', sql, ...options], { cwd });
const bigSql = "select range as n, range * 2 as twice, '西湖区' as name from range(300000)";

describe('cityhub query on big results', () => {
  it('streams 300,000 rows as complete CSV', async () => {
    const { code, stdout, stderr } = await query(bigSql, '--format', 'csv');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\r\n');
    expect(lines).toHaveLength(300002); // header, rows, and the empty string after the last CRLF
    expect(lines[0]).toBe('n,twice,name');
    expect(lines[1]).toBe('0,0,西湖区');
    expect(lines[300000]).toBe('299999,599998,西湖区');
    expect(lines[300001]).toBe('');
  });

  it('streams 300,000 rows as one valid JSON array', async () => {
    const { code, stdout, stderr } = await query(bigSql, '--format', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { n: number; twice: number; name: string }[];
    expect(rows).toHaveLength(300000);
    expect(rows[0]).toEqual({ n: 0, twice: 0, name: '西湖区' });
    expect(rows[299999]).toEqual({ n: 299999, twice: 599998, name: '西湖区' });
  });

  it('prints the first 10,000 rows of a 300,000-row table and says how many more there are', async () => {
    const { code, stdout } = await query(bigSql);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 10000 + 1);
    expect(lines.at(-1)).toBe('(300000 rows; the first 10000 shown, 290000 more: use --format csv or json for all)');
  });
});

describe('cityhub query on the lake', () => {
  it('reads the Parquet files of the lake', async () => {
    const { code, stdout, stderr } = await query(
      `select count(*) as n from read_parquet('${lakeDir}/sensor_reading/**/*.parquet')`,
      '--format',
      'csv',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('n\r\n5\r\n');
  });

  it('refuses COPY … TO with a clear error, writing nothing', async () => {
    const target = join(cwd, 'x.csv');
    const { code, stdout, stderr } = await query(`copy (select 1) to '${target}'`);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^cityhub query: query on .* failed: queries may read the marts and only files under the lake/,
    );
    await expect(access(target)).rejects.toThrow();
  });

  it('refuses to read a file outside the lake, naming it', async () => {
    const outside = join(cwd, 'secret.csv');
    await writeFile(outside, 'phone\n13800000000\n');
    const { code, stdout, stderr } = await query(`select * from read_csv('${outside}')`);
    expect(stdout).toBe('');
    expect(code).toBe(1);
    expect(stderr).toContain(`"${outside}" is refused`);
  });
});

describe('cityhub query --param', () => {
  it('binds named parameters (cast to the type the query gives them), never splicing them into the SQL', async () => {
    const { code, stdout, stderr } = await query(
      'select count(*) as n, max(id) as top, any_value($name) as name from mart_x where id >= $min',
      '--param',
      'min=1',
      '--param',
      "name=x' or '1'='1",
      '--format',
      'csv',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The value comes back as the text it is: it was a value, not SQL.
    expect(stdout).toMatch(/^n,top,name\r?\n1,1,x' or '1'='1\r?\n$/);
    const none = await query('select count(*) as n from mart_x where id > $min', '--param', 'min=1', '--format', 'csv');
    expect(none.stdout).toMatch(/^n\r?\n0\r?\n$/);
  });

  it('names a parameter without a value, a value without a parameter, and a malformed --param', async () => {
    const missing = await query('select * from mart_x where id = $id');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the query uses $id: give its value with --param id=VALUE');
    const unused = await query('select * from mart_x where id = $id', '--param', 'id=1', '--param', 'idd=2');
    expect(unused.code).toBe(1);
    expect(unused.stderr).toContain('--param idd: the query has no such parameter (it uses $id)');
    const malformed = await query('select 1', '--param', 'id');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--param expects NAME=VALUE (got "id")');
  });
});
