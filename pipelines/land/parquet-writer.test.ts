import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Column } from './columns.js';
import { ParquetWriter } from './parquet-writer.js';

const columns: Column[] = [
  { name: 'v', type: 'BIGINT' },
  { name: '_topic', type: 'VARCHAR' },
  { name: '_partition', type: 'INTEGER' },
];

let dir: string;
let writer: ParquetWriter;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-pw-'));
  writer = await ParquetWriter.open(dir);
});

afterEach(async () => {
  await writer.close();
  await rm(dir, { recursive: true, force: true });
});

describe('writePartitioned gives each (partition, day) of a flush exactly one file', () => {
  it('holds every row once even when the flush is large and spans more days than DuckDB keeps files open', async () => {
    // 600,000 rows (past partitioned_write_flush_threshold) over 4 partitions × 150 days (past
    // partitioned_write_max_open_files): DuckDB alone writes several files to some folders.
    const days = Array.from({ length: 150 }, (_, i) => new Date(Date.UTC(2025, 0, 1) + i * 86_400_000));
    const dts = days.map((d) => d.toISOString().slice(0, 10));
    const lines: string[] = [];
    let v = 0;
    for (let round = 0; round < 1_000; round++)
      for (const dt of dts)
        for (let partition = 0; partition < 4; partition++)
          lines.push(`{"v":${v++},"_topic":"raw.sensor","_partition":${partition},"dt":"${dt}"}`);

    const files = await writer.writePartitioned(join(dir, 'out'), columns, lines, ['raw.sensor']);

    expect(files).toHaveLength(600);
    for (const file of files) {
      const folder = join(file.path, '..');
      expect(await readdir(folder)).toEqual([file.path.slice(folder.length + 1)]);
    }
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const list = files.map((f) => `'${f.path}'`).join(', ');
    const reader = await connection.runAndReadAll(
      `select count(*)::int as n, count(distinct v)::int as d, min(v)::int as lo, max(v)::int as hi from read_parquet([${list}])`,
    );
    expect(reader.getRowObjects()[0]).toEqual({ n: v, d: v, lo: 0, hi: v - 1 });
    // Each file holds only its own partition and day's rows, all of them.
    const perFile = await connection.runAndReadAll(
      `select count(*)::int as n, count(distinct _partition)::int as p from read_parquet([${list}], filename = true) group by filename`,
    );
    for (const row of perFile.getRowObjects()) expect(row).toEqual({ n: 1_000, p: 1 });
    connection.closeSync();
    instance.closeSync();
  });
});

describe('writePartitioned names each file by its topic, partition and day', () => {
  it('whatever the topic names, partition numbers and days, and refuses a topic it was not told of', async () => {
    const topics = ['raw.sensor', 'raw.video~1', "raw.街道's"];
    const partitions = [0, 7, 999_999];
    const dts = ['1969-12-31', '1970-01-01', '2000-02-29', '2026-12-05', '9999-12-31'];
    const lines: string[] = [];
    const expected: string[] = [];
    let v = 0;
    for (const topic of topics)
      for (const partition of partitions)
        for (const dt of dts) {
          lines.push(JSON.stringify({ v: v++, _topic: topic, _partition: partition, dt }));
          expected.push(`${topic}|${partition}|${dt}`);
        }
    const files = await writer.writePartitioned(join(dir, 'named'), columns, lines, [...topics, 'raw.unused']);
    expect(files.map((f) => `${f.topic}|${f.partition}|${f.dt}`).sort()).toEqual(expected.sort());
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    for (const file of files) {
      const reader = await connection.runAndReadAll(`select distinct _topic, _partition from '${file.path}'`);
      expect(reader.getRowObjects()).toEqual([{ _topic: file.topic, _partition: file.partition }]);
    }
    connection.closeSync();
    instance.closeSync();
    await expect(
      writer.writePartitioned(join(dir, 'unnamed'), columns, lines.slice(0, 1), ['raw.other']),
    ).rejects.toThrow(/unexpected partition folder/);
    // A partition number past the key's room is refused, not read as another topic's.
    const far = JSON.stringify({ v: 0, _topic: 'raw.sensor', _partition: 1_000_000, dt: '2026-12-05' });
    await expect(writer.writePartitioned(join(dir, 'far'), columns, [far], topics)).rejects.toThrow(
      /unexpected partition folder/,
    );
  });
});

describe('writePartitioned takes NDJSON pieces as text or UTF-8 bytes', () => {
  it('keeps every row whole across pieces of either kind and across the scratch file write requests', async () => {
    // About 20 MiB in pieces of uneven size, so some pieces end exactly where a write request of the scratch file
    // ends (every 8 MiB) and others straddle one; every third piece is text, the rest bytes. Values carry non-ASCII
    // text, so a piece cut mid-character or a newline lost between two pieces would fail the read or the count.
    const pieces: (string | Buffer)[] = [];
    let v = 0;
    for (let piece = 0; piece < 400; piece++) {
      const lines: string[] = [];
      for (let i = 0; i < 200 + (piece % 7) * 150; i++) {
        lines.push(
          `{"v":${v++},"_topic":"raw.dept 市政","_partition":${piece % 3},"dt":"2026-01-0${1 + (piece % 2)}"}`,
        );
      }
      const text = lines.join('\n');
      pieces.push(piece % 3 === 0 ? text : Buffer.from(text));
    }
    const files = await writer.writePartitioned(join(dir, 'out'), columns, pieces, ['raw.dept 市政']);

    expect(files).toHaveLength(6);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const list = files.map((f) => `'${f.path}'`).join(', ');
    const reader = await connection.runAndReadAll(
      `select count(*)::int as n, count(distinct v)::int as d, sum(v)::double as s, count(distinct _topic)::int as t from read_parquet([${list}])`,
    );
    expect(reader.getRowObjects()[0]).toEqual({ n: v, d: v, s: (v * (v - 1)) / 2, t: 1 });
    connection.closeSync();
    instance.closeSync();
  });
});

it('tells its statement observer each statement as its connection starts it: 0 the writer’s, 1 + lane a lane’s', async () => {
  const seen: [number, string][] = [];
  const observed = await ParquetWriter.open(dir, 1, (connection, sql) => seen.push([connection, sql]));
  try {
    await observed.run('create table t as select 1 as x', 1);
    await observed.columns('select count(*) from t', 0);
    await observed.write(join(dir, 'one.parquet'), columns, ['{"v":1,"_topic":"raw.sensor","_partition":0}']);
  } finally {
    await observed.close();
  }
  expect(seen.map(([connection, sql]) => [connection, sql.slice(0, 12)])).toEqual([
    [2, 'create table'],
    [1, 'select count'],
    [0, 'copy (select'],
  ]);
});
