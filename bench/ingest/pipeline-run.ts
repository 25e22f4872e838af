/**
 * One measured pipeline run, in a process of its own: PipelineWorker + Lander + Normalizer, wired as the hub wires
 * them (the default landing config: its limits, the bulk path unless turned off; fsync always), consume the bus the
 * producer filled until every message is landed in a committed Parquet file. Timed: from worker.start() until drain()
 * resolves — reading the bus, normalizing, writing Parquet, the fsyncs and renames of the lake, committing offsets.
 * Not timed: opening the bus and DuckDB, stopping. After the timed part, the lake is read back to count what it holds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { parquetCounts } from './parquet-counts.js';
import { busDir } from './produce.js';
import { traceDir, tracePath } from './trace.js';

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

/**
 * `bulk`: landing.bulk (default on, as the hub's default config). `traced`: the run that records DuckDB's statements
 * for floor-run.ts, in `traceDir(dir)`: each statement as its connection starts it, and the scratch files they read
 * (kept, not removed after their statement). Its timing is not a figure: recording costs time of its own.
 */
export async function pipelineRun(
  feed: BenchFeed,
  dir: string,
  run: number,
  bulk: boolean,
  traced = false,
): Promise<PipelineResult> {
  const { feed: name, dataset } = feedBenches[feed];
  const landing = landingConfig.parse({});
  const runDir = traced ? traceDir(dir) : join(dir, `run-${run}`);
  await mkdir(runDir, { recursive: true });
  const bus = await openEmbeddedBus({ dir: busDir(dir), fsync: 'always' });
  const topic = rawTopic(name);
  const normalizer = benchNormalizer(name, bulk);
  const statements: string[] = [];
  const writer = await ParquetWriter.open(
    runDir,
    writerThreadsFor(normalizer.takesBulkPath),
    traced ? (connection, sql) => statements.push(JSON.stringify({ connection, sql })) : undefined,
  );
  if (traced) writer.removeScratch = async () => {};
  const lake = join(runDir, 'lake');
  const lander = new Lander({
    store: new LocalLakeStore(lake),
    writer,
    generation: bus.generation,
    normalizers: new Map([[topic, normalizer]]),
    limits: { maxRows: landing.max_rows, maxBytes: landing.max_bytes, maxAgeMs: landing.max_age_ms },
  });
  // A group of its own per run: every run reads the whole bus from the start.
  const groupId = `bench-${traced ? 'trace-' : ''}${run}`;
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
  if (traced) await writeFile(tracePath(dir), `${statements.join('\n')}\n`);
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
  const [rows = 0, deadLettered = 0] = await parquetCounts([
    `select count(*) from read_parquet('${lake}/${dataset}/**/*.parquet')`,
    `select coalesce(sum(records), 0) from read_parquet('${lake}/_dlq/${feed}/**/*.parquet')`,
  ]);
  return { rows, deadLettered };
}
