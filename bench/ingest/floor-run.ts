/**
 * DuckDB's share of a pipeline run, alone: the statements a traced run gave DuckDB (trace.ts), run again in a process
 * of their own on a writer opened as the pipeline opens it, each on its own connection and in its connection's order,
 * a statement waiting only for the tables it reads (a chunk's table before the flush that writes it). Nothing else of
 * the pipeline runs: no bus read, no byte scan, no dedupe, no JavaScript per record. Timed: from the first statement
 * to the last. What it gives is the pipeline's floor with this design: the rate it would reach if everything but
 * DuckDB's work cost nothing.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ParquetWriter, writerThreadsFor } from '../../pipelines/land/parquet-writer.js';
import { type BenchFeed, benchNormalizer, feedBenches } from './feeds.js';
import { parquetCounts } from './parquet-counts.js';
import { type TracedStatement, traceDir, tracePath } from './trace.js';

export interface FloorResult {
  seconds: number;
  /** User + system CPU of the process (DuckDB's threads included) over the timed part, µs. */
  cpuMicros: number;
  statements: number;
  /** Rows of the feed's dataset the replayed writes put in Parquet: the landed records, if the replay is whole. */
  rows: number;
}

const CREATED_TABLE = /^\s*create table (\w+) as /i;

/** `bulk`: as the traced run had it (landing.bulk), so the writer is opened with the same threads. */
export async function floorRun(feed: BenchFeed, dir: string, run: number, bulk: boolean): Promise<FloorResult> {
  const { feed: name, dataset } = feedBenches[feed];
  const statements = (await readFile(tracePath(dir), 'utf8'))
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TracedStatement);
  if (statements.length === 0) throw new Error(`the traced run (${tracePath(dir)}) gave DuckDB no statement`);
  const floorDir = join(dir, `floor-${run}`);
  // The traced run wrote into its lake's scratch folder, moved each file away after and wrote the next flush there:
  // here each statement writes into a folder of its own instead. The scratch files it read are where they were.
  const tracedOutput = join(traceDir(dir), 'lake', '_scratch');
  // Each statement as it runs here, with the tables made before it that it reads: worked out before the timed part,
  // which holds nothing but DuckDB's work.
  const replay: { connection: number; sql: string; creates?: string; reads: string[] }[] = [];
  const tables: string[] = [];
  for (const [i, { connection, sql: traced }] of statements.entries()) {
    let sql = traced;
    if (traced.includes(tracedOutput)) {
      await mkdir(join(floorDir, String(i)), { recursive: true });
      sql = traced.replaceAll(tracedOutput, join(floorDir, String(i)));
    }
    const reads = tables.filter((table) => new RegExp(`\\b${table}\\b`).test(sql));
    const creates = CREATED_TABLE.exec(sql)?.[1];
    if (creates) tables.push(creates);
    replay.push({ connection, sql, creates, reads });
  }
  const writer = await ParquetWriter.open(floorDir, writerThreadsFor(benchNormalizer(name, bulk).takesBulkPath));
  const tails = new Map<number, Promise<unknown>>();
  const created = new Map<string, Promise<unknown>>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const { connection, sql, creates, reads } of replay) {
    const lane = connection === 0 ? undefined : connection - 1;
    const waits = reads.map((table) => created.get(table));
    // A query's result is read as the pipeline reads it (the chunk's seqs and keys).
    const done = (tails.get(connection) ?? Promise.resolve()).then(async () => {
      await Promise.all(waits);
      if (/^\s*select /i.test(sql)) await writer.columns(sql, lane);
      else await writer.run(sql, lane);
    });
    tails.set(connection, done);
    if (creates) created.set(creates, done);
  }
  await Promise.all(tails.values());
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await writer.close();
  try {
    return {
      seconds,
      cpuMicros: cpu.user + cpu.system,
      statements: statements.length,
      rows:
        (await parquetCounts([`select count(*) from read_parquet('${floorDir}/*/${dataset}/**/*.parquet')`]))[0] ?? 0,
    };
  } finally {
    await rm(floorDir, { recursive: true, force: true });
  }
}
