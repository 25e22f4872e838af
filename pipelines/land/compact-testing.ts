/**
 * Test helpers for compaction: landed files written as the pipeline writes them (DuckDB, zstd, the landing column
 * types of columns.ts, names of layout.ts) and a lake's rows read back as a multiset. Used by the compaction tests.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetName } from '../../schemas/index.js';
import { type Column, datasetColumns, deadLetterColumns } from './columns.js';
import { dataFileName, type FileCoordinates } from './layout.js';
import type { LakeStore } from './store.js';
import { walkFiles } from './walk-files.js';

export const GENERATION = '3f9a1c0b7e2d';

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** One value per offset `i` of a column's type; every seventh row leaves an optional text column NULL. */
function valueSql(column: Column, c: FileCoordinates, dt: string): string {
  const i = 'i';
  switch (column.name) {
    case '_topic':
      return sqlString(c.topic);
    case '_partition':
      return String(c.partition);
    case '_offset':
      return i;
    case '_source':
      return sqlString('sensors');
  }
  switch (column.type) {
    case 'TIMESTAMPTZ':
      return `(timestamptz '${dt} 08:00:00+08' + to_seconds(${i}))`;
    case 'DOUBLE':
      return `(${i} * 0.25)`;
    case 'BIGINT':
    case 'INTEGER':
      return i;
    case 'BOOLEAN':
      return `(${i} % 2 = 0)`;
    default:
      return `case when ${i} % 7 = 3 then null else '杭州市上城区·${column.name}-' || ${i} end`;
  }
}

export interface LandedFileSpec {
  /** A dataset, or `_dlq/<feed>` for dead letters. */
  folder: string;
  dt: string;
  topic: string;
  partition: number;
  first: number;
  last: number;
  /** Columns left out, as in files landed before an optional column joined the schema. */
  without?: readonly string[];
}

/** Lake-relative path of a landed file. */
export function landedPath(spec: LandedFileSpec): string {
  const name = dataFileName({
    topic: spec.topic,
    partition: spec.partition,
    firstOffset: spec.first,
    lastOffset: spec.last,
    generation: GENERATION,
  });
  return `${spec.folder}/dt=${spec.dt}/${name}`;
}

/** Writes the rows of a landed file (offsets first..last, a row each) to `file` as the pipeline does. */
async function writeRows(connection: DuckDBConnection, spec: LandedFileSpec, file: string): Promise<void> {
  const columns = spec.folder.startsWith('_dlq/') ? deadLetterColumns : datasetColumns(spec.folder as DatasetName);
  const coordinates = { topic: spec.topic, partition: spec.partition, firstOffset: spec.first, lastOffset: spec.last };
  const select = columns
    .filter((c) => !spec.without?.includes(c.name))
    .map((c) => `cast(${valueSql(c, coordinates, spec.dt)} as ${c.type}) as "${c.name}"`)
    .join(', ');
  await connection.run(
    `copy (select ${select} from range(${spec.first}, ${spec.last + 1}) t(i)) to ${sqlString(file)} (format parquet, compression zstd)`,
  );
}

/** Writes one landed file into a local lake at `root`; returns its lake-relative path. */
export async function writeLandedFile(
  connection: DuckDBConnection,
  root: string,
  spec: LandedFileSpec,
): Promise<string> {
  const relPath = landedPath(spec);
  await mkdir(dirname(join(root, relPath)), { recursive: true });
  await writeRows(connection, spec, join(root, relPath));
  return relPath;
}

/** Lands one file in `store` (an S3 lake) through its staging and commit, as the lander does. */
export async function landInStore(
  connection: DuckDBConnection,
  store: LakeStore,
  spec: LandedFileSpec,
): Promise<string> {
  const relPath = landedPath(spec);
  await writeRows(connection, spec, await store.stagingPath(relPath));
  await store.commit([relPath]);
  return relPath;
}

/** The Parquet files of a lake folder (`sensor_reading`, `_dlq/sensor`) under `root`, absolute, sorted. */
export async function parquetFiles(root: string, folder: string): Promise<string[]> {
  const files: string[] = [];
  for await (const path of walkFiles(join(root, folder))) if (path.endsWith('.parquet')) files.push(path);
  return files.sort();
}

/**
 * Every row of `files` as one JSON text (all columns, by name, NULLs included), sorted: two lakes hold the same rows,
 * as multisets, exactly when these lists are equal.
 */
export async function rowsOf(connection: DuckDBConnection, files: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [];
  const list = `[${files.map(sqlString).join(', ')}]`;
  const source = `read_parquet(${list}, union_by_name = true, hive_partitioning = false)`;
  const described = await connection.runAndReadAll(`describe select * from ${source}`);
  const names = described
    .getRows()
    .map((r) => String(r[0]))
    .sort();
  const reader = await connection.runAndReadAll(
    `select to_json(struct_pack(${names.map((n) => `"${n}" := "${n}"`).join(', ')}))::varchar as row from ${source} order by row`,
  );
  return reader.getRows().map((r) => String(r[0]));
}

/** Column names and types of one Parquet file, as DuckDB reads it. */
export async function columnTypes(connection: DuckDBConnection, file: string): Promise<string[][]> {
  const reader = await connection.runAndReadAll(
    `describe select * from read_parquet(${sqlString(file)}, hive_partitioning = false)`,
  );
  return reader.getRows().map((r) => [String(r[0]), String(r[1])]);
}

/** The names in one day folder under `root`. */
export async function dayFiles(root: string, folder: string, dt: string): Promise<string[]> {
  try {
    return (await readdir(join(root, folder, `dt=${dt}`))).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
