import { type FileHandle, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBResultReader, type DuckDBValue } from '@duckdb/node-api';
import type { Column } from './columns.js';

/** NDJSON: one line, or lines joined by newlines, as text or UTF-8 (the lander buffers its rows encoded). */
export type NdjsonPiece = string | Buffer;

/** Where a partitioned write put one bus partition's rows of one day. */
export interface PartitionedFile {
  topic: string;
  partition: number;
  dt: string;
  path: string;
}

/** The partition column of partitioned writes (a folder level only, never a column of the files). */
const PART_KEY = '_part';
/**
 * The partition key is one integer: topic × TOPIC_WEIGHT + partition × PARTITION_WEIGHT + day. A text key made per
 * row (`topic~partition~dt`) cost a flush's write a third more per row (0.12 µs a sensor row). Days count from
 * 1970-01-01 plus DAY_OFFSET (years −768 to 26,600), partitions stay under a million (checked), topics are 1-based
 * places in the flush's list of topics.
 */
const DAY_OFFSET = 1_000_000n;
const PARTITION_WEIGHT = 10_000_000n;
const TOPIC_WEIGHT = 1_000_000n * PARTITION_WEIGHT;
const DAY_MS = 86_400_000;

function partKeySql(topics: readonly string[]): string {
  const list = `[${topics.map(literal).join(', ')}]`;
  const key = `list_position(${list}, "_topic")::BIGINT * ${TOPIC_WEIGHT} + "_partition"::BIGINT * ${PARTITION_WEIGHT} + (cast("dt" as DATE) - DATE '1970-01-01' + ${DAY_OFFSET})`;
  // A partition number out of range would carry into the topic's place: NULL instead, which partOf refuses.
  return `(case when "_partition" between 0 and ${TOPIC_WEIGHT / PARTITION_WEIGHT - 1n} then ${key} end)`;
}

/** The (topic, partition, day) of a partition folder's key, or undefined when it is not one partKeySql makes. */
function partOf(key: string, topics: readonly string[]): Omit<PartitionedFile, 'path'> | undefined {
  if (!/^[1-9][0-9]*$/.test(key)) return undefined;
  const n = BigInt(key);
  const topic = topics[Number(n / TOPIC_WEIGHT) - 1];
  const partition = Number((n % TOPIC_WEIGHT) / PARTITION_WEIGHT);
  const dt = new Date(Number((n % PARTITION_WEIGHT) - DAY_OFFSET) * DAY_MS).toISOString();
  // Days of years 0000–9999 only: the lake's `dt=YYYY-MM-DD` folders.
  if (topic === undefined || !/^\d{4}-\d{2}-\d{2}T/.test(dt)) return undefined;
  return { topic, partition, dt: dt.slice(0, 10) };
}

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

async function writeAt(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** Bytes gathered per write request when NDJSON pieces go to a scratch file. */
const PIECES_PER_WRITE_BYTES = 8 * 1024 * 1024;
const NEWLINE = Buffer.from('\n');

/**
 * Writes NDJSON `pieces` to `path`, a newline between each two, a few MiB per write request (a large piece in one):
 * never the whole joined (a flush of 150,000 departmental rows held its lines, their join and its encoding at once:
 * 300 MB of a 1 GiB peak). fs.promises.writeFile writes in 512 KiB chunks, one event-loop turn each: while the pipeline
 * thread normalizes the next batches, a 30 MB flush then waited seconds.
 */
async function writePieces(path: string, pieces: readonly NdjsonPiece[]): Promise<void> {
  const handle = await open(path, 'w');
  try {
    let position = 0;
    let group: Buffer[] = [];
    let groupBytes = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
      if (i > 0) {
        group.push(NEWLINE);
        groupBytes += NEWLINE.length;
      }
      group.push(bytes);
      groupBytes += bytes.length;
      if (groupBytes >= PIECES_PER_WRITE_BYTES || i === pieces.length - 1) {
        await writeAt(handle, group.length === 1 ? group[0]! : Buffer.concat(group, groupBytes), position);
        position += groupBytes;
        group = [];
        groupBytes = 0;
      }
    }
  } finally {
    await handle.close();
  }
}

/**
 * Told of each statement as its connection starts it: `connection` 0 is the writer's, 1 + lane a mapping lane's. The
 * ingest bench records them to time DuckDB's share of a run alone (bench/ingest/floor-run.ts).
 */
export type StatementObserver = (connection: number, sql: string) => void;

/**
 * A DuckDB connection that runs one statement at a time, in call order. A connection holds one active query; the
 * bulk path's chunks and the clean-up of abandoned ones may ask for several at once.
 */
class SerialConnection {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connection: DuckDBConnection,
    /** 0: the writer's connection; 1 + lane: a mapping lane's. */
    private readonly index: number,
    private readonly observe: StatementObserver | undefined,
  ) {}

  run(sql: string): Promise<unknown> {
    return this.next(() => {
      this.observe?.(this.index, sql);
      return this.connection.run(sql);
    });
  }

  runAndReadAll(sql: string): Promise<DuckDBResultReader> {
    return this.next(() => {
      this.observe?.(this.index, sql);
      return this.connection.runAndReadAll(sql);
    });
  }

  /** Resolves when every statement given so far has ended. */
  async idle(): Promise<void> {
    await this.tail;
  }

  closeSync(): void {
    this.connection.closeSync();
  }

  private next<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.catch(() => {});
    return result;
  }
}

/**
 * Connections the bulk path maps on, beside the writer's: chunks of a flush go round-robin, so mapping uses the cores
 * the pipeline thread leaves (statements run one thread each: see writerThreadsFor).
 */
export const MAPPING_LANES = 2;

/**
 * DuckDB threads per statement for a pipeline's writer. With a bulk path (`bulk`), the writer's connection and the
 * mapping lanes run statements side by side beside the pipeline thread: one thread each gave more records/s for less
 * CPU on 2 cores than two (sensor feed, paired runs of npm run bench: ratio to DuckDB 0.098 against 0.080). Without
 * one, a flush is one COPY at a time, which two threads speed up (departmental feed: 0.055 against 0.046).
 */
export function writerThreadsFor(bulk: boolean): number {
  return bulk ? 1 : 2;
}

/**
 * Writes rows to Parquet with DuckDB. Rows arrive as NDJSON lines (one JSON object each, keys = column names);
 * DuckDB reads them with explicit column types, so nothing is inferred and a missing key is NULL.
 */
export class ParquetWriter {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: SerialConnection,
    private readonly scratchDir: string,
    private readonly observe: StatementObserver | undefined,
  ) {}

  /** `threads`: DuckDB threads per statement (see writerThreadsFor). */
  static async open(scratchDir: string, threads = 2, observe?: StatementObserver): Promise<ParquetWriter> {
    // Bounded so a large flush spills to the scratch folder instead of growing the hub's memory without limit.
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(threads),
      memory_limit: '512MB',
      temp_directory: join(scratchDir, 'duckdb-spill'),
      // Fewer partitions split over several files (merged after, see oneFileIn), well under a 1024 descriptor limit.
      partitioned_write_max_open_files: '500',
    });
    const connection = new SerialConnection(await instance.connect(), 0, observe);
    return new ParquetWriter(instance, connection, scratchDir, observe);
  }

  private sequence = 0;

  /** Writes `lines` (NDJSON without trailing newline) to `path` as a zstd Parquet file. */
  async write(path: string, columns: Column[], lines: readonly NdjsonPiece[]): Promise<void> {
    await this.copy(columns, selectList(columns), lines, `${literal(path)} (format parquet, compression zstd)`);
  }

  /**
   * Writes NDJSON `pieces` (lines, or groups of lines joined by newlines) as one Parquet file per bus partition and
   * day: each row carries `_topic` (one of `topics`) and `_partition` (columns of the file) and a "dt" key (kept out
   * of the file: it is the lake folder). One DuckDB statement for a whole flush, however many partitions and days it
   * spans: each statement and each scratch file costs the pipeline thread event-loop turns.
   */
  async writePartitioned(
    dir: string,
    columns: Column[],
    pieces: readonly NdjsonPiece[],
    /** Every `_topic` the rows hold. */
    topics: readonly string[],
    /** Queries giving more rows (the bulk path's): `columns`, then `dt`. */
    extra: readonly string[] = [],
  ): Promise<PartitionedFile[]> {
    if (pieces.length === 0 && extra.length === 0) return [];
    const part = `${partKeySql(topics)} as ${PART_KEY}`;
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
        const part = partOf(decodeURIComponent(folder.slice(PART_KEY.length + 1)), topics);
        if (!part) throw new Error(`unexpected partition folder ${join(dir, folder)}`);
        return { ...part, path: await this.oneFileIn(join(dir, folder)) };
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

  /**
   * The first column of a query's rows as text (reads of the lake: the natural keys to remember on start), on a
   * mapping lane's connection when `lane` is given.
   */
  async readColumn(sql: string, lane?: number): Promise<string[]> {
    const reader = await (lane === undefined ? this.connection : await this.lane(lane)).runAndReadAll(sql);
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
      await this.copy(columns, selectList(columns), [lines.join('\n')], `${literal(target)} (format parquet)`);
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
    pieces: readonly NdjsonPiece[],
    target: string,
    extra: readonly string[] = [],
  ): Promise<void> {
    if (pieces.length === 0) {
      await this.connection.run(`copy (${extra.join(' union all ')}) to ${target}`);
      return;
    }
    const scratch = this.scratchPath('batch');
    try {
      await writePieces(scratch, pieces);
      const lines = `select ${select} from (${readJsonSql(scratch, columns)})`;
      await this.connection.run(`copy (${[lines, ...extra].join(' union all ')}) to ${target}`);
    } finally {
      await this.removeScratch(scratch);
    }
  }

  /** Writes a scratch file for one statement (removeScratch after it). */
  async scratchFile(prefix: string, data: Buffer): Promise<string> {
    const path = this.scratchPath(prefix);
    await writePieces(path, [data]);
    return path;
  }

  private scratchPath(prefix: string): string {
    return join(this.scratchDir, `${prefix}-${process.pid}-${this.sequence++}.txt`);
  }

  async removeScratch(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /**
   * Runs a statement: on the writer's connection, or on mapping connection `lane` (0 .. MAPPING_LANES - 1), where the
   * bulk path maps messages while the writer's connection writes the previous flush. Tables made on one connection
   * are seen by the others unless they are temp tables.
   */
  async run(sql: string, lane?: number): Promise<void> {
    await (lane === undefined ? this.connection : await this.lane(lane)).run(sql);
  }

  /** The columns of a query's rows, as DuckDB values (INTEGER as number, BIGINT as bigint). */
  async columns(sql: string, lane?: number): Promise<DuckDBValue[][]> {
    const reader = await (lane === undefined ? this.connection : await this.lane(lane)).runAndReadAll(sql);
    return reader.getColumns();
  }

  private readonly lanes: Promise<SerialConnection>[] = [];
  private readonly openLanes: SerialConnection[] = [];
  /** Per lane, the plans whose catalog tables it holds (or is making). */
  private readonly prepared: Map<object, Promise<void>>[] = [];

  private lane(lane: number): Promise<SerialConnection> {
    this.lanes[lane] ??= this.instance.connect().then((connection) => {
      const serial = new SerialConnection(connection, 1 + lane, this.observe);
      this.openLanes.push(serial);
      return serial;
    });
    return this.lanes[lane];
  }

  /**
   * Runs a bulk plan's setup (its catalog temp tables) once on mapping connection `lane`; every caller waits for it,
   * so no statement of the plan runs there before its tables exist.
   */
  prepare(plan: { setupSql(): string[] }, lane: number): Promise<void> {
    let prepared = this.prepared[lane];
    if (!prepared) {
      prepared = new Map();
      this.prepared[lane] = prepared;
    }
    let setup = prepared.get(plan);
    if (!setup) {
      setup = (async () => {
        const connection = await this.lane(lane);
        for (const statement of plan.setupSql()) await connection.run(statement);
      })();
      prepared.set(plan, setup);
      // A failed setup is tried again by the next chunk.
      setup.catch(() => prepared.delete(plan));
    }
    return setup;
  }

  /** Closes the connections once the statements they were given have ended (a chunk may still be mapping). */
  async close(): Promise<void> {
    for (const connection of [this.connection, ...this.openLanes]) await connection.idle();
    for (const lane of this.openLanes) lane.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
