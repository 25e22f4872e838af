/**
 * One measured pipeline run, in a process of its own: PipelineWorker + Lander + Normalizer, wired as the hub wires
 * them (the default landing config: its limits, the bulk path unless turned off; fsync always), consume the bus the
 * producer filled until every message is landed in a committed Parquet file. Timed: from worker.start() until drain()
 * resolves — reading the bus, normalizing, writing Parquet, the fsyncs and renames of the lake, committing offsets.
 * Not timed: opening the bus and DuckDB, stopping. After the timed part, the lake is read back to count what it holds.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { rawTopic } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { landingConfig } from '../../pipelines/config/schema.js';
import type { FeedCounts } from '../../pipelines/land/lander.js';
import { Lander } from '../../pipelines/land/lander.js';
import { LocalLakeStore } from '../../pipelines/land/local-store.js';
import { ParquetWriter, writerThreadsFor } from '../../pipelines/land/parquet-writer.js';
import { PipelineWorker } from '../../pipelines/pipeline/worker.js';
import { type BenchFeed, benchNormalizer, feedBenches } from './feeds.js';
import { busDir } from './produce.js';

export interface PipelineResult {
  seconds: number;
  /** User + system CPU of the whole process (DuckDB's threads included) over the timed part, µs. */
  cpuMicros: number;
  /** Peak RSS of this process by the end of the timed part, and its RSS just before it (bus and DuckDB open). */
  peakRssMiB: number;
  startRssMiB: number;
  counts: FeedCounts | undefined;
  /** Of the landed records, those the bulk path (DuckDB) mapped; the others took the record path. */
  bulkLanded: number;
  reasons: Record<string, number>;
  /** What the lake holds once landed: rows of the feed's dataset, and records its dead letters stand for. */
  lake: { rows: number; deadLettered: number };
}

const mib = (bytes: number) => bytes / 1024 / 1024;

/** `bulk`: landing.bulk (default on, as the hub's default config). */
export async function pipelineRun(feed: BenchFeed, dir: string, run: number, bulk: boolean): Promise<PipelineResult> {
  const { feed: name, dataset } = feedBenches[feed];
  const landing = landingConfig.parse({});
  const runDir = join(dir, `run-${run}`);
  await mkdir(runDir, { recursive: true });
  const bus = await openEmbeddedBus({ dir: busDir(dir), fsync: 'always' });
  const topic = rawTopic(name);
  const normalizer = benchNormalizer(name, bulk);
  const writer = await ParquetWriter.open(runDir, writerThreadsFor(normalizer.takesBulkPath));
  const lake = join(runDir, 'lake');
  const lander = new Lander({
    store: new LocalLakeStore(lake),
    writer,
    generation: bus.generation,
    normalizers: new Map([[topic, normalizer]]),
    limits: { maxRows: landing.max_rows, maxBytes: landing.max_bytes, maxAgeMs: landing.max_age_ms },
  });
  // A group of its own per run: every run reads the whole bus from the start.
  const groupId = `bench-${run}`;
  const worker = new PipelineWorker({ bus, lander, topics: [topic], groupId, log: pino({ level: 'warn' }) });
  const startRssMiB = mib(process.memoryUsage().rss);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await worker.start();
  await worker.drain(600_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  await worker.stop();
  await writer.close();
  await bus.close();
  return {
    seconds,
    cpuMicros: cpu.user + cpu.system,
    peakRssMiB,
    startRssMiB,
    counts: lander.stats.feeds[name],
    bulkLanded: lander.bulkLanded.get(name) ?? 0,
    reasons: Object.fromEntries(lander.deadLettersByReason.get(name) ?? []),
    lake: await lakeCounts(lake, dataset, name),
  };
}

async function lakeCounts(lake: string, dataset: string, feed: string): Promise<PipelineResult['lake']> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  // Nothing landed (or nothing dead-lettered) is no file at all: zero, not an error.
  const count = async (sql: string) =>
    Number((await connection.runAndReadAll(sql).catch(noFiles)).getRows()[0]?.[0] ?? 0);
  try {
    return {
      rows: await count(`select count(*) from read_parquet('${lake}/${dataset}/**/*.parquet')`),
      deadLettered: await count(
        `select coalesce(sum(records), 0) from read_parquet('${lake}/_dlq/${feed}/**/*.parquet')`,
      ),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function noFiles(error: unknown): { getRows(): unknown[][] } {
  if (error instanceof Error && error.message.includes('No files found')) return { getRows: () => [] };
  throw error;
}
