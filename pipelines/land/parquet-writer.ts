import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import type { Column } from './columns.js';

/** Where a partitioned write put one bus partition's rows of one day. */
export interface PartitionedFile {
  topic: string;
  partition: number;
  dt: string;
  path: string;
}

/** The partition column of partitioned writes (a folder level only, never a column of the files). */
const PART_KEY = '_part';

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** The columns as a SQL select list. */
function selectList(columns: Column[]): string {
  return columns.map((c) => quote(c.name)).join(', ');
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function readJsonSql(file: string, columns: Column[]): string {
  const spec = columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ');
  return `select * from read_json(${literal(file)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 16777216)`;
}

/**
 * True when DuckDB refused the data itself (text it cannot decode, a value its column type cannot hold), as opposed
 * to the machine failing (disk full, I/O): only the former is narrowed down to rows and dead-lettered.
 */
export function isRowRejection(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return (
    /^(Invalid Input Error|Conversion Error|Out of Range Error)/.test(message) &&
    !/No space left|I\/O Error|IO Error/i.test(message)
  );
}

/**
 * Writes `data` with as few write requests as the OS allows. fs.promises.writeFile writes in 512 KiB chunks, one
 * event-loop turn each: while the pipeline thread normalizes the next batches, a 30 MB flush then waited seconds.
 */
async function writeWhole(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, 'w');
  try {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written, written);
      written += bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Writes rows to Parquet with DuckDB. Rows arrive as NDJSON lines (one JSON object each, keys = column names);
 * DuckDB reads them with explicit column types, so nothing is inferred and a missing key is NULL.
 */
export class ParquetWriter {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly scratchDir: string,
  ) {}

  static async open(scratchDir: string, threads = 2): Promise<ParquetWriter> {
    // Bounded so a large flush spills to the scratch folder instead of growing the hub's memory without limit.
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(threads),
      memory_limit: '512MB',
      temp_directory: join(scratchDir, 'duckdb-spill'),
      // Fewer partitions split over several files (merged after, see oneFileIn), well under a 1024 descriptor limit.
      partitioned_write_max_open_files: '500',
    });
    const connection = await instance.connect();
    return new ParquetWriter(instance, connection, scratchDir);
  }

  private sequence = 0;

  /** Writes `lines` (NDJSON without trailing newline) to `path` as a zstd Parquet file. */
  async write(path: string, columns: Column[], lines: string[]): Promise<void> {
    await this.copy(columns, selectList(columns), lines, `${literal(path)} (format parquet, compression zstd)`);
  }

  /**
   * Writes NDJSON `pieces` (lines, or groups of lines joined by newlines) as one Parquet file per bus partition and
   * day: each row carries `_topic` and `_partition` (columns of the file) and a "dt" key (kept out of the file: it is
   * the lake folder). One DuckDB statement for a whole flush, however many partitions and days it spans: each
   * statement and each scratch file costs the pipeline thread event-loop turns.
   */
  async writePartitioned(
    dir: string,
    columns: Column[],
    pieces: string[],
    /** Queries giving more rows (the bulk path's): `columns`, then `dt`. */
    extra: readonly string[] = [],
  ): Promise<PartitionedFile[]> {
    if (pieces.length === 0 && extra.length === 0) return [];
    const part = `concat_ws('~', "_topic", "_partition", "dt") as ${PART_KEY}`;
    await this.copy(
      [...columns, { name: 'dt', type: 'VARCHAR' }],
      `${selectList(columns)}, ${part}`,
      pieces,
      `${literal(dir)} (format parquet, compression zstd, partition_by (${PART_KEY}), filename_pattern 'part{i}', overwrite_or_ignore true)`,
      extra.map((sql) => `select ${selectList(columns)}, ${part} from (${sql})`),
    );
    const folders = (await readdir(dir)).filter((folder) => folder.startsWith(`${PART_KEY}=`));
    return Promise.all(
      folders.map(async (folder) => {
        const key = decodeURIComponent(folder.slice(PART_KEY.length + 1));
        const match = /^(.+)~(\d+)~(\d{4}-\d{2}-\d{2})$/.exec(key);
        if (!match) throw new Error(`unexpected partition folder ${join(dir, folder)}`);
        const path = await this.oneFileIn(join(dir, folder));
        return { topic: match[1]!, partition: Number(match[2]), dt: match[3]!, path };
      }),
    );
  }

  /**
   * The one Parquet file of a partition folder. The lake names one file per (range, day), but DuckDB splits a
   * partition's rows over several files when a write keeps more partitions open than partitioned_write_max_open_files
   * (a flush of a long backfill spans hundreds of days): those are merged into one, in their order.
   */
  private async oneFileIn(folder: string): Promise<string> {
    const files = (await readdir(folder)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (files.length === 1) return join(folder, files[0]!);
    if (files.length === 0) throw new Error(`no Parquet file in ${folder}`);
    const merged = join(folder, 'merged.parquet');
    const sources = files.map((f) => literal(join(folder, f))).join(', ');
    await this.connection.run(
      `copy (select * from read_parquet([${sources}])) to ${literal(merged)} (format parquet, compression zstd)`,
    );
    await Promise.all(files.map((f) => rm(join(folder, f))));
    return merged;
  }

  /** The first column of a query's rows as text (reads of the lake: the natural keys to remember on start). */
  async readColumn(sql: string): Promise<string[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRows().map((row) => String(row[0]));
  }

  /**
   * True when the writer takes every line of `lines` (reads them with the same column types, writes nothing): the
   * lander's probe when a flush was refused for a row.
   */
  async accepts(columns: Column[], lines: string[]): Promise<boolean> {
    // The same read and the same Parquet write as a flush, to a throwaway file: a probe that only counted rows could
    // let DuckDB skip the conversions that refused the flush.
    const target = join(this.scratchDir, `probe-${process.pid}-${this.sequence++}.parquet`);
    try {
      await this.copy(columns, selectList(columns), lines, `${literal(target)} (format parquet)`);
      return true;
    } catch (error) {
      if (isRowRejection(error)) return false;
      throw error;
    } finally {
      await rm(target, { force: true });
    }
  }

  /**
   * Puts the NDJSON into a scratch file and copies it to `target` (a COPY destination with its options), reading
   * `columns` with explicit types, so nothing is inferred and a missing key is NULL, and copying the `select` list.
   */
  private async copy(
    columns: Column[],
    select: string,
    pieces: string[],
    target: string,
    extra: readonly string[] = [],
  ): Promise<void> {
    if (pieces.length === 0) {
      await this.connection.run(`copy (${extra.join(' union all ')}) to ${target}`);
      return;
    }
    const scratch = await this.scratchFile('batch', Buffer.from(pieces.join('\n')));
    try {
      const lines = `select ${select} from (${readJsonSql(scratch, columns)})`;
      await this.connection.run(`copy (${[lines, ...extra].join(' union all ')}) to ${target}`);
    } finally {
      await this.removeScratch(scratch);
    }
  }

  /** Writes a scratch file for one statement (removeScratch after it). */
  async scratchFile(prefix: string, data: Buffer): Promise<string> {
    const path = join(this.scratchDir, `${prefix}-${process.pid}-${this.sequence++}.txt`);
    await writeWhole(path, data);
    return path;
  }

  async removeScratch(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /** Runs a statement on the writer's connection (the bulk path's temp tables live there). */
  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  /** The columns of a query's rows, as DuckDB values (INTEGER as number, BIGINT as bigint). */
  async columns(sql: string): Promise<DuckDBValue[][]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getColumns();
  }

  private readonly prepared = new Set<object>();

  /** Runs a bulk plan's setup (its catalog tables) once on this connection. */
  async prepare(plan: { setupSql(): string[] }): Promise<void> {
    if (this.prepared.has(plan)) return;
    for (const statement of plan.setupSql()) await this.connection.run(statement);
    this.prepared.add(plan);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
