import { rename } from 'node:fs/promises';
import type { Feed } from '../../connectors/types.js';
import type { DatasetName } from '../../schemas/index.js';
import type { PartitionBatch, TopicOffset } from '../bus/types.js';
import type { Normalizer } from '../normalize/normalizer.js';
import { shanghaiDate } from '../normalize/time.js';
import { type Column, datasetColumns, deadLetterColumns } from './columns.js';
import { datasetFilePath, deadLetterFilePath, parseDataFileName } from './layout.js';
import type { ParquetWriter } from './parquet-writer.js';
import type { LakeStore } from './store.js';

export interface LandingLimits {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
}

export interface FeedCounts {
  received: number;
  landed: number;
  dead_lettered: number;
}

export interface LandingStats {
  feeds: Partial<Record<Feed, FeedCounts>>;
  rows: Partial<Record<DatasetName, number>>;
  files: number;
  flushes: number;
}

/** What one partition has buffered since its last flush: NDJSON lines (each with its "dt") grouped by dataset. */
interface PartitionBuffer {
  topic: string;
  partition: number;
  feed: Feed;
  firstOffset: number;
  lastOffset: number;
  bytes: number;
  rows: number;
  startedAt: number;
  /** Per dataset, NDJSON chunks: each batch's lines joined at once, so a buffered row is one flat string's bytes. */
  datasets: Map<DatasetName, string[]>;
  deadLetters: string[];
  counts: FeedCounts;
  datasetRows: Partial<Record<DatasetName, number>>;
}

export interface LanderOptions {
  store: LakeStore;
  writer: ParquetWriter;
  /** The normalizer of each raw topic. */
  normalizers: ReadonlyMap<string, Normalizer>;
  limits: LandingLimits;
  now?: () => number;
}

/**
 * Turns bus batches into lake files. Rows are buffered per partition and written as one file per
 * (dataset, dt) covering the partition's buffered offset range; the offsets to commit are returned only after
 * every file of the flush is durable, so a crash before the commit lands the same range again under the same names.
 */
export class Lander {
  readonly stats: LandingStats = { feeds: {}, rows: {}, files: 0, flushes: 0 };
  private readonly buffers = new Map<string, PartitionBuffer>();
  private readonly now: () => number;

  constructor(private readonly options: LanderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Deletes files (and staged leftovers) of offsets at or past the committed offset: a crashed flush's partial output. */
  async discardUncommitted(committed: readonly TopicOffset[]): Promise<number> {
    await this.options.store.clearScratch();
    const next = new Map(committed.map((c) => [partitionId(c.topic, c.partition), c.offset]));
    let removed = 0;
    for (const path of await this.options.store.list()) {
      const name = path.slice(path.lastIndexOf('/') + 1);
      if (name.endsWith('.tmp')) {
        await this.options.store.remove(path);
        continue;
      }
      const coordinates = parseDataFileName(name);
      if (!coordinates) continue;
      const from = next.get(partitionId(coordinates.topic, coordinates.partition));
      if (from !== undefined && coordinates.firstOffset >= from) {
        await this.options.store.remove(path);
        removed++;
      }
    }
    return removed;
  }

  add(batch: PartitionBatch): void {
    if (batch.messages.length === 0) return;
    const normalizer = this.options.normalizers.get(batch.topic);
    if (!normalizer) throw new Error(`no normalizer for topic ${batch.topic}`);
    const id = partitionId(batch.topic, batch.partition);
    let buffer = this.buffers.get(id);
    if (!buffer) {
      buffer = {
        topic: batch.topic,
        partition: batch.partition,
        feed: normalizer.feed,
        firstOffset: batch.messages[0]!.offset,
        lastOffset: -1,
        bytes: 0,
        rows: 0,
        startedAt: this.now(),
        datasets: new Map(),
        deadLetters: [],
        counts: { received: 0, landed: 0, dead_lettered: 0 },
        datasetRows: {},
      };
      this.buffers.set(id, buffer);
    }
    const counts = buffer.counts;
    const datasetRows = buffer.datasetRows;
    const ingestedAt = new Date(this.now()).toISOString();
    const source = sourceOf(normalizer.feed);
    // Landing columns are appended to each row's JSON as text: no copy of the row object per record. All but the
    // offset are the same for the whole batch.
    const landing = `,"_source":${JSON.stringify(source)},"_ingested_at":"${ingestedAt}","_topic":${JSON.stringify(batch.topic)},"_partition":${batch.partition},"_offset":`;
    const fresh = new Map<DatasetName, string[]>();
    for (const message of batch.messages) {
      const result = normalizer.normalize(message.value);
      const suffix = `${landing}${message.offset}}`;
      for (const { dataset, dt, row } of result.rows) {
        let lines = fresh.get(dataset);
        if (!lines) {
          lines = [];
          fresh.set(dataset, lines);
        }
        const json = JSON.stringify(row);
        const tail = `,"dt":"${dt}"${suffix}`;
        lines.push(json.length > 2 ? json.slice(0, -1) + tail : `{${tail.slice(1)}`);
        datasetRows[dataset] = (datasetRows[dataset] ?? 0) + 1;
      }
      for (const deadLetter of result.deadLetters) {
        buffer.deadLetters.push(
          JSON.stringify({
            feed: deadLetter.feed,
            source,
            reason_code: deadLetter.reason_code,
            reason: JSON.stringify(deadLetter.issues),
            raw: deadLetter.raw,
            raw_truncated: deadLetter.raw_truncated,
            coordinates: JSON.stringify({
              topic: batch.topic,
              partition: batch.partition,
              offset: message.offset,
              ...(deadLetter.line !== undefined ? { line: deadLetter.line } : {}),
            }),
            _topic: batch.topic,
            _partition: batch.partition,
            _offset: message.offset,
            dead_lettered_at: ingestedAt,
          }),
        );
      }
      counts.received += result.received;
      counts.landed += result.landed;
      counts.dead_lettered += result.deadLetters.length;
      buffer.rows += result.rows.length + result.deadLetters.length;
      buffer.bytes += message.value.length;
      buffer.lastOffset = message.offset;
    }
    for (const [dataset, lines] of fresh) {
      const chunks = buffer.datasets.get(dataset);
      if (chunks) chunks.push(lines.join('\n'));
      else buffer.datasets.set(dataset, [lines.join('\n')]);
    }
  }

  /**
   * True when what is buffered, over all partitions, reached the row or byte limit (so memory stays bounded
   * whatever the number of partitions), or when the oldest buffered row is older than the age limit.
   */
  due(): boolean {
    const now = this.now();
    const { maxRows, maxBytes, maxAgeMs } = this.options.limits;
    let rows = 0;
    let bytes = 0;
    for (const buffer of this.buffers.values()) {
      if (now - buffer.startedAt >= maxAgeMs) return true;
      rows += buffer.rows;
      bytes += buffer.bytes;
    }
    return rows >= maxRows || bytes >= maxBytes;
  }

  /** Forgets everything buffered (after a failure the worker re-reads from the committed offsets). */
  abandon(): void {
    this.buffers.clear();
    for (const normalizer of this.options.normalizers.values()) normalizer.forgetSeen();
  }

  get buffered(): boolean {
    return this.buffers.size > 0;
  }

  /** Writes every buffered partition to the lake; returns the offsets that may now be committed. */
  async flush(): Promise<TopicOffset[]> {
    const taken = new Map(this.buffers);
    this.buffers.clear();
    const buffers = [...taken.values()];
    const byDataset = new Map<DatasetName, string[]>();
    for (const buffer of buffers) {
      for (const [dataset, chunks] of buffer.datasets) {
        let all = byDataset.get(dataset);
        if (!all) {
          all = [];
          byDataset.set(dataset, all);
        }
        // A loop, not push(...chunks): a long flush can hold more chunks than a call takes arguments.
        for (const chunk of chunks) all.push(chunk);
      }
    }
    const staged: string[] = [];
    for (const [dataset, chunks] of byDataset) {
      // One DuckDB statement per dataset writes the file of every (partition, day) in the flush; each file then
      // moves to its lake name, which says which partition's offset range it holds.
      const dir = await this.options.store.scratchDir(dataset);
      const files = await this.options.writer.writePartitioned(dir, datasetColumns(dataset), chunks);
      await Promise.all(
        files.map(async ({ topic, partition, dt, path }) => {
          const buffer = taken.get(partitionId(topic, partition));
          if (!buffer) throw new Error(`DuckDB wrote rows of ${topic}~${partition}, which this flush did not buffer`);
          const relPath = datasetFilePath(dataset, dt, buffer);
          await rename(path, await this.options.store.stagingPath(relPath));
          staged.push(relPath);
        }),
      );
    }
    for (const buffer of buffers) {
      if (buffer.deadLetters.length > 0) {
        const path = deadLetterFilePath(buffer.feed, shanghaiDate(this.now()), buffer);
        staged.push(await this.writeFile(path, deadLetterColumns, buffer.deadLetters));
      }
    }
    await this.options.store.commit(staged);
    // Counted only once durable: a failed flush is re-read from the committed offsets and counted then.
    for (const buffer of buffers) {
      const total = this.stats.feeds[buffer.feed] ?? { received: 0, landed: 0, dead_lettered: 0 };
      total.received += buffer.counts.received;
      total.landed += buffer.counts.landed;
      total.dead_lettered += buffer.counts.dead_lettered;
      this.stats.feeds[buffer.feed] = total;
      for (const [dataset, rows] of Object.entries(buffer.datasetRows) as [DatasetName, number][]) {
        this.stats.rows[dataset] = (this.stats.rows[dataset] ?? 0) + rows;
      }
    }
    this.stats.files += staged.length;
    this.stats.flushes++;
    return buffers.map((b) => ({ topic: b.topic, partition: b.partition, offset: b.lastOffset + 1 }));
  }

  private async writeFile(relPath: string, columns: Column[], lines: string[]): Promise<string> {
    const path = await this.options.store.stagingPath(relPath);
    await this.options.writer.write(path, columns, lines);
    return relPath;
  }
}

/** The key of a bus partition in the lander's maps (as in the lake's file names). */
function partitionId(topic: string, partition: number): string {
  return `${topic}~${partition}`;
}

/** The feed of the raw topic, until the bus carries headers naming the producing connector (docs/lake.md). */
function sourceOf(feed: Feed): string {
  return feed;
}
