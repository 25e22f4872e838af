import { rename } from 'node:fs/promises';
import type { Feed } from '../../connectors/types.js';
import type { DatasetName } from '../../schemas/index.js';
import { BufferPool } from '../buffer-pool.js';
import { NO_HEADERS, REPLAY_OF_HEADER, SOURCE_HEADER } from '../bus/headers.js';
import { recordsOf } from '../bus/record-run.js';
import type {
  BusMessage,
  MessageHeaders,
  PartitionBatch,
  RecordRun,
  TopicOffset,
  TopicPartition,
} from '../bus/types.js';
import { CityhubError } from '../errors.js';
import { type BulkPlan, KEY_SEPARATOR, KEY_SEPARATOR_SQL } from '../normalize/bulk-plan.js';
import type { DeadLetter, NormalizedMessage } from '../normalize/normalizer.js';
import { shanghaiDate } from '../normalize/time.js';
import { scrubPersonalText } from '../privacy/personal-text.js';
import { type Column, datasetColumns, deadLetterColumns, naturalKeyTextSql } from './columns.js';
import { DeferredLog } from './deferred-log.js';
import { type DiscardScope, FlushJournals, JOURNAL_DIR } from './flush-journal.js';
import { datasetFilePath, deadLetterFilePath, generationTag, parseDataFileName } from './layout.js';
import { isRowRejection, MAPPING_LANES, type ParquetWriter } from './parquet-writer.js';
import type { LakeStore } from './store.js';

export interface LandingLimits {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
  /** The age limit of the first flush after start (landing.first_flush_age_ms); default maxAgeMs. */
  firstMaxAgeMs?: number;
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
  /** Bus generation tag for the file names. */
  generation?: string;
  /**
   * Per dataset, NDJSON chunks: each batch's lines joined and encoded at once, so a buffered row costs its UTF-8 bytes
   * (not a string's one or two bytes a character on the heap) and the flush writes them as they are.
   */
  datasets: Map<DatasetName, Buffer[]>;
  deadLetters: string[];
  counts: FeedCounts;
  /** Of counts.dead_lettered, the records per reason_code. */
  reasons: Map<string, number>;
  datasetRows: Partial<Record<DatasetName, number>>;
  /** Its messages wait for the flush (a topic with a bulk plan, issue 12): Lander.deferred holds them (deferred-log.ts). */
  deferring: boolean;
  /** Of counts.landed, the records the bulk path mapped. */
  bulkLanded: number;
}

/** What the lander needs of a topic's normalizer (the feed's Normalizer, or the reader of connector dead letters). */
export interface MessageNormalizer {
  readonly feed: Feed;
  /** Never throws: every record of the message lands or is dead-lettered. `headers`: the message's bus headers. */
  normalize(value: Buffer, headers: MessageHeaders): NormalizedMessage;
  /** Forgets dedupe memory (the worker re-reads what it threw away). */
  forgetSeen(): void;
  /** Datasets whose natural keys it remembers, and how: see Normalizer. Absent for the dead-letter reader. */
  readonly dedupedDatasets?: readonly DatasetName[];
  readonly dedupeWindow?: number;
  naturalKeyFields?(dataset: DatasetName): readonly string[];
  remember?(dataset: DatasetName, keys: Iterable<string>): void;
  /**
   * The bulk plan a message (its bytes: `chunk[start, end)`) may take, else undefined; lastBulkKinds then holds the
   * kinds of the values the plan reads (a number, not an object per message). Absent for the dead-letter reader.
   */
  bulkPlanFor?(chunk: Buffer, start: number, end: number, headers: MessageHeaders): BulkPlan | undefined;
  readonly lastBulkKinds?: number;
  /** With lastBulkKinds, the classes of its strings (bulk-eligible.ts lastStringClasses). */
  readonly lastBulkClasses?: number;
  /** Whether one of its mappings has a bulk plan: its messages then wait for the flush. */
  readonly takesBulkPath?: boolean;
  /** A row the bulk path landed (message `index` of `run`), by natural key: undefined, or the duplicate's dead letter. */
  bulkRow?(dataset: DatasetName, key: string, run: RecordRun, index: number): NormalizedMessage | undefined;
}

/** At most this many of a dataset's newest files are read to recall its natural keys. */
const RECALL_MAX_FILES = 2_000;
/** The scratch folder of a flush's dead letters (beside the datasets' own, which are named by dataset). */
const DEAD_LETTER_SCRATCH = '_dlq';

export interface LanderOptions {
  store: LakeStore;
  writer: ParquetWriter;
  /** The normalizer of each topic the pipeline reads (raw.<feed>, dlq.<feed>). */
  normalizers: ReadonlyMap<string, MessageNormalizer>;
  limits: LandingLimits;
  /**
   * Id of the bus the offsets belong to (Bus.generation). It goes into every file name, so files landed from an
   * earlier bus (whose offsets a new bus reuses) are never replaced or removed, and it names the flush journal.
   */
  generation?: string;
  /**
   * This pipeline process's id among those landing into the lake (stable across its restarts): it names its flush
   * journal. Default `main` (one pipeline process).
   */
  member?: string;
  /** How long another member's fresh journal is waited for before its files are judged (flush-journal.ts). */
  journalGraceMs?: number;
  /**
   * Whether this member still owns a partition, asked just before a flush puts its files in place (several pipeline
   * processes over Kafka); a flush holding a partition it lost is given up (FlushRevokedError). Default: always.
   */
  owns?: (tp: TopicPartition) => boolean;
  /**
   * Bulk path: a plan's deferred messages are handed to DuckDB in chunks of this many as they arrive, so mapping runs
   * while the flush fills (default BULK_CHUNK_MESSAGES); the rest at the flush.
   */
  bulkChunkMessages?: number;
  /** A bulk statement failed (not the machine): its messages took the record path. For the log. */
  onBulkFailure?: (dataset: DatasetName, messages: number, error: unknown) => void;
  now?: () => number;
}

/**
 * Deferred messages of one bulk plan handed to DuckDB before the flush (a chunk): mapped on the writer's mapping
 * connection while more messages arrive and the previous flush writes. `done` never rejects; `result` is set when it
 * resolves, so the walk can tell without waiting.
 */
interface MappedChunk {
  plan: BulkPlan;
  messages: number;
  /** The chunk's last seq: a plan's chunks hold its seqs in arrival order, each the ones after the previous chunk's. */
  lastSeq: number;
  done: Promise<ChunkResult>;
  result?: ChunkResult;
  /** Whether the walk reached it; then, for a table result, the rows it lands with its `_ok` rows' seqs and keys. */
  walked: boolean;
  sure?: { rows: BulkRows; seqs: number[]; keys: string[] };
  /** The `_ok` row the walk takes next. */
  next: number;
}

/**
 * How far the walk of a flush's deferred log went (see walkDeferred): messages are taken in arrival order as soon as
 * DuckDB has mapped the chunk each belongs to, while the flush fills, so at the flush only the last chunks are left.
 */
interface DeferredWalk {
  /** The first seq not walked. */
  next: number;
  /** Per plan, its chunks in arrival order and the one the walk is in. */
  plans: Map<BulkPlan, { chunks: MappedChunk[]; at: number }>;
  /** The rows of every table-result chunk walked into, for the flush's write. */
  tables: BulkRows[];
  /**
   * A chunk's statement failed on the machine, or the walk itself threw between flushes: the walk stops and the
   * flush fails (retried as any flush is).
   */
  failed?: unknown;
}

function newWalk(): DeferredWalk {
  return { next: 0, plans: new Map(), tables: [] };
}

type ChunkResult =
  /** The table of mapped rows, and the `_ok` rows' sequence numbers and natural keys in sequence order. */
  | { table: string; seqs: number[]; keys: string[] }
  /** The statement refused these payloads (or a bug in it): they take the record path. */
  | { refused: unknown }
  /** The machine failed (disk, memory): the flush fails and is retried as any flush is. */
  | { machine: unknown };

/**
 * Deferred messages of one plan are mapped in chunks of this many, or of this many payload bytes, while the flush
 * fills: large enough that a statement's fixed costs (14 ms for the demo sensors, 28 ms for the hotline's orders)
 * weigh little per message, small enough that a flush is mostly mapped when it is due and the last chunk's statement
 * does not hold it long. By bytes too: a statement's cost per row grows with the payload.
 */
const BULK_CHUNK_MESSAGES = 40_000;
const BULK_CHUNK_BYTES = 8 * 1024 * 1024;

/** Messages a poll brings before the lander knows how many rows a message carries (see pollRoom). */
const FIRST_POLL_MESSAGES = 100;

/** The SQL rows of one bulk plan in a flush, once dedupe said which land. */
interface BulkRows {
  dataset: DatasetName;
  table: string;
  /** Sequence numbers of `_ok` rows that turned out duplicates. */
  duplicates: number[];
}

/** A flush was given up because a rebalance took some of its partitions away before its files were in place. */
export class FlushRevokedError extends CityhubError {
  readonly partitions: TopicPartition[];
  constructor(partitions: readonly TopicPartition[]) {
    super(
      `flush given up: partitions ${partitions.map((p) => `${p.topic}/${p.partition}`).join(', ')} moved to another pipeline process before its files were in place`,
      { retriable: true },
    );
    this.partitions = partitions.map(({ topic, partition }) => ({ topic, partition }));
  }
}

/**
 * Turns bus batches into lake files. Rows are buffered per partition and written as one file per
 * (dataset, dt) covering the partition's buffered offset range; the offsets to commit are returned only after
 * every file of the flush is durable, so a crash before the commit lands the same range again under the same names.
 */
export class Lander {
  readonly stats: LandingStats = { feeds: {}, rows: {}, files: 0, flushes: 0 };
  /**
   * Dead-lettered records per feed and reason_code, counted with stats (once a flush is committed): for each feed the
   * reasons sum to stats.feeds[feed].dead_lettered.
   */
  readonly deadLettersByReason = new Map<Feed, Map<string, number>>();
  /** Of the landed records per feed, those the bulk path mapped (counted with stats). */
  readonly bulkLanded = new Map<Feed, number>();
  /** Bulk statements that failed and left their messages to the record path. */
  bulkFallbacks = 0;
  /** Deferred messages normalized before their flush began (the flush walked only the rest). */
  walkedAhead = 0;
  private readonly buffers = new Map<string, PartitionBuffer>();
  private readonly now: () => number;

  private readonly generation: string | undefined;
  private readonly journals: FlushJournals;
  /** The last flush, counted into stats once its offsets are committed. */
  private uncounted: { buffers: PartitionBuffer[]; files: number } | undefined;
  /** Messages waiting for the flush, in arrival order, and the (source, ingested-at) pairs of the buffered ones. */
  private deferred = new DeferredLog<PartitionBuffer>();
  /** The last flush's log once walked, emptied for the next flush. */
  private spareLog: DeferredLog<PartitionBuffer> | undefined;
  private metas: { source: string; ingestedAt: string }[] = [];
  private metaIndex = new Map<string, number>();
  private bulkTables = 0;
  /** Per bulk plan, the seqs of this flush's deferred messages not yet handed to DuckDB, and their payloads' bytes. */
  private unmapped = new Map<BulkPlan, { seqs: number[]; bytes: number }>();
  /** Per topic, the rows a message brought in its last batch (a departmental chunk: dozens): polls are sized by it. */
  private readonly rowsPerMessage = new Map<string, number>();
  private chunks: MappedChunk[] = [];
  /** The walk of `deferred`; and whether a flush is still walking the log it took (see walkAhead). */
  private walk = newWalk();
  private flushWalking = false;
  /** The chunks' scratch lines are written into these (one per mapping lane in flight, and one filling). */
  private readonly scratchBuffers = new BufferPool(MAPPING_LANES + 1);

  constructor(private readonly options: LanderOptions) {
    this.now = options.now ?? Date.now;
    this.generation = options.generation === undefined ? undefined : generationTag(options.generation);
    this.journals = new FlushJournals({
      store: options.store,
      generation: this.generation ?? 'default',
      member: options.member ?? 'main',
      graceMs: options.journalGraceMs ?? 0,
      now: this.now,
    });
  }

  /**
   * Removes what an interrupted flush left behind: staged `.tmp` files and scratch output, and the files journals
   * name whose offsets were not committed, for the partitions this member owns (they land again under names of the
   * same form; flush-journal.ts). Nothing else is touched: a lake file is removed only on the evidence of a journal
   * of this bus, never because a (new, empty) bus has not committed its offsets — a lost bus must not cost the lake
   * its files. Given offsets alone (one pipeline process), those partitions are the ones it owns.
   */
  async discardUncommitted(scope: DiscardScope | readonly TopicOffset[]): Promise<number> {
    const { owned, committedOf } = Array.isArray(scope)
      ? scopeOfOffsets(scope as readonly TopicOffset[])
      : (scope as DiscardScope);
    const { store } = this.options;
    await store.clearScratch();
    for (const path of await store.list()) if (path.endsWith('.tmp')) await store.remove(path);
    if ((await store.listWork(JOURNAL_DIR)).length > 0) return this.journals.discardUncommitted({ owned, committedOf });
    // No journal: a lake written before journals existed may hold an interrupted flush's files under the old names
    // (no generation); for those alone the old rule holds — past the committed offset, not committed.
    const mine = new Set(owned.map((tp) => partitionId(tp.topic, tp.partition)));
    let removed = 0;
    for (const path of await store.list()) {
      const coordinates = parseDataFileName(path.slice(path.lastIndexOf('/') + 1));
      if (!coordinates || coordinates.generation !== undefined) continue;
      if (!mine.has(partitionId(coordinates.topic, coordinates.partition))) continue;
      if (coordinates.firstOffset >= (await committedOf(coordinates))) {
        await store.remove(path);
        removed++;
      }
    }
    return removed;
  }

  add(batch: PartitionBatch): void {
    const run = recordsOf(batch);
    if (run.length === 0) return;
    const normalizer = this.options.normalizers.get(batch.topic);
    if (!normalizer) throw new Error(`no normalizer for topic ${batch.topic}`);
    const buffer = this.bufferOf(batch, run.offset(0), normalizer);
    const ingestedAt = new Date(this.now()).toISOString();
    if (normalizer.takesBulkPath && normalizer.bulkPlanFor) {
      // The bulk path: messages wait for the flush, which maps the eligible ones in one DuckDB statement and
      // normalizes the rest in bus order (dedupe sees every message in the order the record path would). Headers
      // are decoded only where they differ from the previous message's (a connector stamps the same on each).
      let headers: MessageHeaders = NO_HEADERS;
      let meta = -1;
      buffer.deferring = true;
      this.deferred.addBatch(buffer, run);
      for (let i = 0; i < run.length; i++) {
        if (i === 0 || !run.sameHeaders(i, i - 1)) {
          headers = run.headers(i);
          meta = this.metaOf(sourceOf(headers, normalizer.feed), ingestedAt);
        }
        // The payload read in place (`chunk[start, end)`): a view per message was a quarter of this loop's garbage.
        const start = run.valueStart(i);
        const end = run.valueEnd(i);
        const plan = normalizer.bulkPlanFor(run.chunk(i), start, end, headers);
        const seq = plan
          ? this.deferred.push(i, meta, plan, normalizer.lastBulkKinds!, normalizer.lastBulkClasses ?? 0)
          : this.deferred.push(i, meta, undefined, 0, 0);
        if (plan) {
          const waiting = this.unmapped.get(plan);
          if (waiting) {
            waiting.seqs.push(seq);
            waiting.bytes += end - start;
          } else this.unmapped.set(plan, { seqs: [seq], bytes: end - start });
        }
        buffer.bytes += end - start;
      }
      buffer.rows += run.length;
      buffer.lastOffset = run.offset(run.length - 1);
      this.rowsPerMessage.set(batch.topic, 1);
      const chunk = this.options.bulkChunkMessages ?? BULK_CHUNK_MESSAGES;
      for (const [plan, waiting] of this.unmapped)
        if (waiting.seqs.length >= chunk || waiting.bytes >= BULK_CHUNK_BYTES) this.mapChunk(plan);
      // Dedupe must see messages in arrival order: not before the flush has walked every message it took.
      this.walkAhead();
      return;
    }
    const fresh = new Map<DatasetName, string[]>();
    const landing = new LandingText(batch.topic, batch.partition, ingestedAt);
    const rowsBefore = buffer.rows;
    for (let i = 0; i < run.length; i++) {
      const message = run.message(i);
      const result = normalizer.normalize(message.value, message.headers);
      this.absorb(buffer, fresh, landing, message, sourceOf(message.headers, normalizer.feed), result);
    }
    this.keepLines(buffer, fresh);
    this.rowsPerMessage.set(batch.topic, Math.max(1, (buffer.rows - rowsBefore) / run.length));
    // Rows and dead letters are copies: the bus may read into these bytes again.
    run.release?.();
  }

  /**
   * How many messages the next poll may bring (at least one, at most `most`) so that the buffered rows pass
   * `max_rows` by no more than about one message's rows: a poll of 2,000 departmental chunks of 80 rows each made
   * one flush of 160,000 rows against a limit of 100,000. Rows per message: the most any topic's last batch brought;
   * until a first batch is seen, polls bring at most FIRST_POLL_MESSAGES (a backlog of chunks after a restart).
   */
  pollRoom(most: number): number {
    if (this.rowsPerMessage.size === 0) most = Math.min(most, FIRST_POLL_MESSAGES);
    let rows = 0;
    for (const buffer of this.buffers.values()) rows += buffer.rows;
    let perMessage = 1;
    for (const ratio of this.rowsPerMessage.values()) perMessage = Math.max(perMessage, ratio);
    const left = this.options.limits.maxRows - rows;
    return Math.max(1, Math.min(most, Math.ceil(left / perMessage)));
  }

  /** The partition's buffer, opened at its first message since the last flush. */
  private bufferOf(batch: PartitionBatch, firstOffset: number, normalizer: MessageNormalizer): PartitionBuffer {
    const id = partitionId(batch.topic, batch.partition);
    let buffer = this.buffers.get(id);
    if (!buffer) {
      buffer = {
        topic: batch.topic,
        partition: batch.partition,
        feed: normalizer.feed,
        firstOffset,
        lastOffset: -1,
        bytes: 0,
        rows: 0,
        startedAt: this.now(),
        ...(this.generation ? { generation: this.generation } : {}),
        datasets: new Map(),
        deadLetters: [],
        counts: { received: 0, landed: 0, dead_lettered: 0 },
        reasons: new Map(),
        datasetRows: {},
        deferring: false,
        bulkLanded: 0,
      };
      this.buffers.set(id, buffer);
    }
    return buffer;
  }

  /** Index of a (source, ingested-at) pair among this flush's. */
  private metaOf(source: string, ingestedAt: string): number {
    const key = `${source}\u0001${ingestedAt}`;
    let index = this.metaIndex.get(key);
    if (index === undefined) {
      index = this.metas.length;
      this.metas.push({ source, ingestedAt });
      this.metaIndex.set(key, index);
    }
    return index;
  }

  /** One normalized message into its partition's buffer: rows as NDJSON lines, dead letters, counts. */
  private absorb(
    buffer: PartitionBuffer,
    fresh: Map<DatasetName, string[]>,
    landing: LandingText,
    message: BusMessage,
    source: string,
    result: NormalizedMessage,
  ): void {
    const suffix = landing.suffix(source, message.offset);
    for (const { dataset, dt, row } of result.rows) {
      let lines = fresh.get(dataset);
      if (!lines) {
        lines = [];
        fresh.set(dataset, lines);
      }
      const json = JSON.stringify(row);
      const tail = `,"dt":"${dt}"${suffix}`;
      lines.push(json.length > 2 ? json.slice(0, -1) + tail : `{${tail.slice(1)}`);
      buffer.datasetRows[dataset] = (buffer.datasetRows[dataset] ?? 0) + 1;
    }
    this.countMessage(buffer, message, source, landing.ingestedAt, result);
  }

  /** A message's dead letters and counts into its partition's buffer. */
  private countMessage(
    buffer: PartitionBuffer,
    message: BusMessage,
    source: string,
    ingestedAt: string,
    result: NormalizedMessage,
  ): void {
    let deadLettered = 0;
    for (const deadLetter of result.deadLetters) {
      buffer.deadLetters.push(
        deadLetterLine(
          deadLetter,
          source,
          { topic: buffer.topic, partition: buffer.partition, offset: message.offset },
          ingestedAt,
          result.rows.length,
          message.headers[REPLAY_OF_HEADER],
        ),
      );
      const records = deadLetter.records ?? 1;
      deadLettered += records;
      buffer.reasons.set(deadLetter.reason_code, (buffer.reasons.get(deadLetter.reason_code) ?? 0) + records);
    }
    const counts = buffer.counts;
    counts.received += result.received;
    counts.landed += result.landed;
    counts.dead_lettered += deadLettered;
    if (!buffer.deferring) {
      buffer.rows += result.rows.length + result.deadLetters.length;
      buffer.bytes += message.value.length;
      buffer.lastOffset = message.offset;
    }
  }

  /** A batch's new NDJSON lines, joined and encoded once per dataset into the buffer's chunks. */
  private keepLines(buffer: PartitionBuffer, fresh: Map<DatasetName, string[]>): void {
    for (const [dataset, lines] of fresh) {
      const chunk = Buffer.from(lines.join('\n'));
      const chunks = buffer.datasets.get(dataset);
      if (chunks) chunks.push(chunk);
      else buffer.datasets.set(dataset, [chunk]);
    }
  }

  /**
   * True when what is buffered, over all partitions, reached the row or byte limit (so memory stays bounded
   * whatever the number of partitions), or when the oldest buffered row is older than the age limit.
   */
  due(): boolean {
    const now = this.now();
    const { maxRows, maxBytes } = this.options.limits;
    // Until a first flush is committed, the first rows are landed sooner: the first marts (npm start's first
    // indicators) wait for them.
    const maxAgeMs =
      this.stats.flushes === 0 && this.uncounted === undefined
        ? Math.min(this.options.limits.maxAgeMs, this.options.limits.firstMaxAgeMs ?? Number.POSITIVE_INFINITY)
        : this.options.limits.maxAgeMs;
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
    this.deferred = new DeferredLog();
    this.unmapped.clear();
    this.dropChunks(this.chunks.splice(0));
    this.walk = newWalk();
    this.metas = [];
    this.metaIndex.clear();
    this.uncounted = undefined;
    for (const normalizer of this.options.normalizers.values()) normalizer.forgetSeen();
  }

  /**
   * Resolves once every chunk handed to DuckDB since the last flush is mapped, and walked as far as it goes (unless a
   * flush is still walking the messages it took).
   */
  async mapped(): Promise<void> {
    // Each chunk's own callback (attached first) has walked by the time these resolve.
    await Promise.all(this.chunks.map((chunk) => chunk.done));
  }

  get buffered(): boolean {
    return this.buffers.size > 0;
  }

  /** Writes every buffered partition to the lake; returns the offsets that may now be committed. */
  async flush(): Promise<TopicOffset[]> {
    const taken = new Map(this.buffers);
    this.buffers.clear();
    const buffers = [...taken.values()];
    const metas = this.metas;
    const deferred = this.deferred;
    const walk = this.walk;
    for (const plan of [...this.unmapped.keys()]) this.mapChunk(plan);
    const chunks = this.chunks.splice(0);
    this.metas = [];
    this.deferred = this.spareLog ?? new DeferredLog();
    this.spareLog = undefined;
    this.walk = newWalk();
    this.metaIndex.clear();
    this.flushWalking = true;
    this.walkedAhead += walk.next;
    try {
      for (let pending = this.walkDeferred(deferred, metas, walk); pending; ) {
        await pending.done;
        pending = this.walkDeferred(deferred, metas, walk);
      }
      if (walk.failed !== undefined) throw walk.failed;
    } catch (error) {
      const { writer } = this.options;
      await Promise.all(
        chunks.map(async (chunk) => {
          const result = await chunk.done;
          if ('table' in result) await writer.run(`drop table if exists ${result.table}`).catch(() => {});
        }),
      );
      throw error;
    } finally {
      this.flushWalking = false;
    }
    // The next flush's messages that arrived meanwhile.
    this.walkAhead();
    const bulk = walk.tables;
    // Walked: nothing reads it any more (each chunk copied its messages when it was handed to DuckDB).
    deferred.reset();
    this.spareLog = deferred;
    try {
      return await this.write(taken, buffers, bulk);
    } finally {
      for (const rows of bulk) await this.options.writer.run(`drop table if exists ${rows.table}`);
    }
  }

  /**
   * Hands a plan's unmapped deferred messages to DuckDB: their payloads go into a scratch file and one statement on
   * the mapping connection maps and checks them into a table, while messages go on arriving (add() does not wait).
   * The time plausibility is judged at the clock of now: never later than the record path's judgement at the flush,
   * so a row sure now is sure then.
   */
  private mapChunk(plan: BulkPlan): void {
    const waiting = this.unmapped.get(plan)?.seqs;
    this.unmapped.delete(plan);
    if (!waiting || waiting.length === 0) return;
    const deferred = this.deferred;
    const { writer } = this.options;
    const lane = this.bulkTables % MAPPING_LANES;
    const table = `bulk_rows_${process.pid}_${this.bulkTables++}`;
    const metas = this.metas;
    const now = this.now();
    const topic = deferred.buffered(waiting[0]!).topic;
    const done = (async (): Promise<ChunkResult> => {
      let file: string | undefined;
      try {
        const lines = deferred.scratchLines(waiting, this.scratchBuffers);
        try {
          file = await writer.scratchFile('bulk', lines);
        } finally {
          this.scratchBuffers.give(lines);
        }
        await writer.prepare(plan, lane);
        await writer.run(`create table ${table} as ${plan.selectSql({ file, topic, metas, now })}`, lane);
        // The `_ok` rows' seqs and natural keys, each as one text: two strings to decode and split, not a value per
        // row (bulk-plan.ts KEY_SEPARATOR). NULLs when no row is `_ok`. Not ordered in SQL (sorting took half of
        // the statement): both aggregates see the rows in the same order, the table's (the file's, seq order), and
        // inSeqOrder makes sure.
        const [[seqText] = [], [keyText] = []] = await writer.columns(
          `select string_agg(seq::VARCHAR, ','), string_agg(_key, ${KEY_SEPARATOR_SQL}) from ${table} where _ok`,
          lane,
        );
        const seqs = typeof seqText === 'string' ? commaSeparatedIntegers(seqText) : [];
        const keys = typeof keyText === 'string' ? keyText.split(KEY_SEPARATOR) : [];
        if (keys.length !== seqs.length) throw new Error(`${keys.length} natural keys for ${seqs.length} rows`);
        return { table, ...inSeqOrder(seqs, keys) };
      } catch (error) {
        await writer.run(`drop table if exists ${table}`, lane).catch(() => {});
        // The machine failing (disk, memory) is retried as any flush is. Anything else is the statement refusing
        // these payloads, or a bug in it: never a reason to stop landing — the record path takes them all.
        return isMachineFailure(error) ? { machine: error } : { refused: error };
      } finally {
        if (file) await writer.removeScratch(file).catch(() => {});
      }
    })();
    const chunk: MappedChunk = {
      plan,
      messages: waiting.length,
      lastSeq: waiting[waiting.length - 1]!,
      done,
      walked: false,
      next: 0,
    };
    const walk = this.walk;
    void done.then((result) => {
      chunk.result = result;
      // A flush walks its own log; otherwise the walk goes on now, not at the next batch (there may be none before
      // the flush: the worker waits for the previous flush once this one is due).
      if (this.walk === walk) this.walkAhead();
    });
    this.chunks.push(chunk);
    let queue = walk.plans.get(plan);
    if (!queue) {
      queue = { chunks: [], at: 0 };
      walk.plans.set(plan, queue);
    }
    queue.chunks.push(chunk);
  }

  /** Drops the tables of chunks no flush will land (once their statements end). */
  private dropChunks(chunks: readonly MappedChunk[]): void {
    for (const chunk of chunks) {
      void chunk.done.then((result) =>
        'table' in result ? this.options.writer.run(`drop table if exists ${result.table}`).catch(() => {}) : undefined,
      );
    }
  }

  /**
   * Walks the log of the flush to come as far as DuckDB mapped it, unless a flush is still walking the log it took:
   * dedupe must see messages in arrival order. What it throws fails the next flush.
   */
  private walkAhead(): void {
    if (this.flushWalking) return;
    try {
      this.walkDeferred(this.deferred, this.metas, this.walk);
    } catch (error) {
      this.walk.failed ??= error;
    }
  }

  /**
   * Normalizes deferred messages (bulk path) in arrival order, from where the walk is, as far as DuckDB has mapped
   * them: a row DuckDB was sure of goes through the normalizer's dedupe by its key, any other message through
   * normalize(), so rows, dead letters and counts are those of the record path. Returns the chunk the walk waits for
   * (still being mapped); undefined when it reached the end of the log, a message not yet handed to DuckDB, or a
   * chunk the machine failed.
   */
  private walkDeferred(
    deferred: DeferredLog<PartitionBuffer>,
    metas: readonly { source: string; ingestedAt: string }[],
    walk: DeferredWalk,
  ): MappedChunk | undefined {
    if (walk.failed !== undefined) return undefined;
    let fresh = new Map<DatasetName, string[]>();
    let landing: LandingText | undefined;
    let current: PartitionBuffer | undefined;
    try {
      for (; walk.next < deferred.length; walk.next++) {
        const seq = walk.next;
        const plan = deferred.plan(seq);
        let chunk: MappedChunk | undefined;
        if (plan) {
          const queue = walk.plans.get(plan);
          if (!queue) return undefined;
          while (queue.at < queue.chunks.length && queue.chunks[queue.at]!.lastSeq < seq) queue.at++;
          chunk = queue.chunks[queue.at];
          if (!chunk) return undefined;
          const result = chunk.result;
          if (!result) return chunk;
          if ('machine' in result) {
            walk.failed = result.machine;
            return undefined;
          }
          if (!chunk.walked) this.walkInto(chunk, walk);
        }
        const buffer = deferred.buffered(seq);
        const run = deferred.run(seq);
        const index = deferred.index(seq);
        if (buffer !== current) {
          if (current) this.keepLines(current, fresh);
          fresh = new Map();
          current = buffer;
          landing = undefined;
        }
        const normalizer = this.options.normalizers.get(buffer.topic)!;
        const meta = metas[deferred.meta(seq)]!;
        const sure = chunk?.sure;
        if (sure) {
          if (sure.seqs[chunk!.next] === seq) {
            const rows = sure.rows;
            const duplicate = normalizer.bulkRow!(rows.dataset, sure.keys[chunk!.next++]!, run, index);
            if (duplicate) {
              rows.duplicates.push(seq);
              this.countMessage(buffer, run.message(index), meta.source, meta.ingestedAt, duplicate);
            } else {
              buffer.datasetRows[rows.dataset] = (buffer.datasetRows[rows.dataset] ?? 0) + 1;
              buffer.counts.received++;
              buffer.counts.landed++;
              buffer.bulkLanded++;
            }
            continue;
          }
        }
        if (!landing || landing.ingestedAt !== meta.ingestedAt)
          landing = new LandingText(buffer.topic, buffer.partition, meta.ingestedAt);
        const message = run.message(index);
        const result = normalizer.normalize(message.value, message.headers);
        this.absorb(buffer, fresh, landing, message, meta.source, result);
      }
      return undefined;
    } finally {
      if (current) this.keepLines(current, fresh);
    }
  }

  /** The walk reaches a chunk's first message: its rows join the flush's, or (refused) its messages go the record path. */
  private walkInto(chunk: MappedChunk, walk: DeferredWalk): void {
    const result = chunk.result!;
    chunk.walked = true;
    if ('refused' in result) {
      this.bulkFallbacks++;
      this.options.onBulkFailure?.(chunk.plan.dataset, chunk.messages, result.refused);
      return;
    }
    if ('table' in result) {
      const rows: BulkRows = { dataset: chunk.plan.dataset, table: result.table, duplicates: [] };
      chunk.sure = { rows, seqs: result.seqs, keys: result.keys };
      walk.tables.push(rows);
    }
  }

  private async write(
    taken: ReadonlyMap<string, PartitionBuffer>,
    buffers: PartitionBuffer[],
    bulk: readonly BulkRows[],
  ): Promise<TopicOffset[]> {
    const byDataset = new Map<DatasetName, Buffer[]>();
    for (const rows of bulk) if (!byDataset.has(rows.dataset)) byDataset.set(rows.dataset, []);
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
    const topics = topicsOf(buffers);
    for (const [dataset, pieces] of byDataset) {
      // One DuckDB statement per dataset writes the file of every (partition, day) in the flush; each file then
      // moves to its lake name, which says which partition's offset range it holds.
      const dir = await this.options.store.scratchDir(dataset);
      const columns = datasetColumns(dataset);
      let chunks = pieces;
      const extra = bulk.filter((rows) => rows.dataset === dataset).map((rows) => bulkRowsSql(rows, columns));
      let files: Awaited<ReturnType<ParquetWriter['writePartitioned']>>;
      try {
        files = await this.options.writer.writePartitioned(dir, columns, chunks, topics, extra);
      } catch (error) {
        if (!isRowRejection(error) || chunks.length === 0) throw error;
        // The writer refused a row (text DuckDB cannot take): find the rows it refuses, dead-letter each, land the rest.
        // Rows of the bulk path came out of DuckDB already: only the record path's lines are narrowed down.
        chunks = await this.setAsideRejectedRows(dataset, chunks, taken, error);
        files = await this.options.writer.writePartitioned(
          await this.options.store.scratchDir(dataset),
          columns,
          chunks,
          topics,
          extra,
        );
      }
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
    for (const relPath of await this.writeDeadLetters(taken, buffers)) staged.push(relPath);
    // The journal names every file this flush puts in place, before the first of them is: after a crash, exactly
    // these (and only those not committed) are removed and landed again.
    // Over Kafka a rebalance may have given a partition of this flush to another member while its files were
    // written: placing them now would race that member's landing of the same offsets. Give the flush up instead;
    // the worker starts over from the commits.
    const revoked = buffers.filter((b) => this.options.owns && !this.options.owns(b));
    if (revoked.length > 0) {
      for (const path of staged) await this.options.store.remove(`${path}.tmp`);
      throw new FlushRevokedError(revoked);
    }
    await this.journals.write(staged);
    // A long upload keeps its journal fresh, so another member does not take this live flush for a dead one's.
    await this.journals.keptFresh(this.options.store.commit(staged));
    // Counted only once its offsets are committed (committed()): a flush whose files are in place but whose commit
    // failed is read, landed and counted again, so counting it now would count it twice.
    this.uncounted = { buffers, files: staged.length };
    return buffers.map((b) => ({ topic: b.topic, partition: b.partition, offset: b.lastOffset + 1 }));
  }

  /**
   * Bisects the rows of `chunks` with the writer's own check until each row it refuses is alone, moves those rows to
   * their partition's dead letters (`writer_rejected`, with the writer's message) and returns the rows it accepts.
   */
  private async setAsideRejectedRows(
    dataset: DatasetName,
    chunks: readonly Buffer[],
    taken: ReadonlyMap<string, PartitionBuffer>,
    error: unknown,
  ): Promise<Buffer[]> {
    const columns = datasetColumns(dataset);
    const lines = chunks.flatMap((chunk) => chunk.toString('utf8').split('\n'));
    const rejected: string[] = [];
    const accepted: string[] = [];
    const pending: string[][] = [lines];
    while (pending.length > 0) {
      const group = pending.pop()!;
      if (await this.options.writer.accepts(columns, group)) {
        for (const line of group) accepted.push(line);
      } else if (group.length === 1) rejected.push(group[0]!);
      else pending.push(group.slice(group.length >> 1), group.slice(0, group.length >> 1));
    }
    // The writer refused the flush but accepts each row alone: not a row's fault after all (say so, retry later).
    if (rejected.length === 0) throw error;
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    for (const line of rejected) {
      const row = JSON.parse(line) as { _source: string; _topic: string; _partition: number; _offset: number };
      const buffer = taken.get(partitionId(row._topic, row._partition));
      if (!buffer) continue;
      buffer.deadLetters.push(
        deadLetterLine(
          {
            feed: buffer.feed,
            reason_code: 'writer_rejected',
            issues: [{ path: '', message: `the Parquet writer refused this row: ${message}` }],
            raw: scrubPersonalText(line)
              .toWellFormed()
              .slice(0, 64 * 1024),
            raw_truncated: line.length > 64 * 1024,
          },
          row._source,
          { topic: row._topic, partition: row._partition, offset: row._offset },
          new Date(this.now()).toISOString(),
        ),
      );
      // A delivery header is not a source record: its records are counted on their own rows.
      if (dataset !== 'dept_delivery') {
        buffer.counts.landed--;
        buffer.counts.dead_lettered++;
        buffer.reasons.set('writer_rejected', (buffer.reasons.get('writer_rejected') ?? 0) + 1);
      }
      buffer.datasetRows[dataset] = (buffer.datasetRows[dataset] ?? 1) - 1;
    }
    return accepted.length > 0 ? [Buffer.from(accepted.join('\n'))] : [];
  }

  /**
   * Fills the normalizers' dedupe memory with the natural keys of the newest landed rows (up to each one's window),
   * so that after a restart — or after a failed flush threw the memory away — a repeat of a landed record is a
   * duplicate, as in an uninterrupted run. Call after discardUncommitted(): only committed files are in the lake.
   */
  async recallLanded(): Promise<number> {
    const { store, writer } = this.options;
    // One statement per dataset, side by side on the writer's connection and its mapping lanes: each reads hundreds
    // of small files on one thread, and one after another they held a restart's first flush back by 2 s.
    const connections = [undefined, ...Array.from({ length: MAPPING_LANES }, (_, lane) => lane)];
    const recalls: Promise<number>[] = [];
    for (const normalizer of new Set(this.options.normalizers.values())) {
      if (!normalizer.remember || !normalizer.naturalKeyFields) continue;
      for (const dataset of normalizer.dedupedDatasets ?? []) {
        const connection = connections[recalls.length % connections.length];
        recalls.push(
          (async () => {
            const files = await store.recentFiles(dataset, RECALL_MAX_FILES);
            if (files.length === 0) return 0;
            const types = new Map(datasetColumns(dataset).map((c) => [c.name, c.type]));
            const fields = normalizer.naturalKeyFields!(dataset);
            const key = fields.map((field) => naturalKeyTextSql(quoted(field), types.get(field))).join(', ');
            // Files landed before a key field joined its schema (an optional column added later) lack that column:
            // a typed empty relation unioned by name gives it to every file, as NULL.
            const typed = [...fields, '_ingested_at', '_offset']
              .map((field) => `cast(null as ${types.get(field) ?? 'VARCHAR'}) as ${quoted(field)}`)
              .join(', ');
            const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
            const keys = await writer.readColumn(
              `select key from (
                 select concat_ws(chr(1), ${key}) as key, _ingested_at, _offset
                 from (
                   select ${typed} where false
                   union all by name
                   select * from read_parquet([${list}], union_by_name = true)
                 )
                 order by _ingested_at desc, _offset desc
                 limit ${normalizer.dedupeWindow ?? 200_000}
               ) order by _ingested_at, _offset`,
              connection,
            );
            normalizer.remember!(dataset, keys);
            return keys.length;
          })(),
        );
      }
    }
    let recalled = 0;
    for (const count of await Promise.all(recalls)) recalled += count;
    return recalled;
  }

  /** Called once the flush's offsets are committed: its journal is no longer needed. */
  async committed(): Promise<void> {
    const flushed = this.uncounted;
    this.uncounted = undefined;
    if (flushed) this.count(flushed.buffers, flushed.files);
    await this.journals.clear();
  }

  private count(buffers: readonly PartitionBuffer[], files: number): void {
    for (const buffer of buffers) {
      const total = this.stats.feeds[buffer.feed] ?? { received: 0, landed: 0, dead_lettered: 0 };
      total.received += buffer.counts.received;
      total.landed += buffer.counts.landed;
      total.dead_lettered += buffer.counts.dead_lettered;
      this.stats.feeds[buffer.feed] = total;
      let reasons = this.deadLettersByReason.get(buffer.feed);
      if (!reasons) {
        reasons = new Map();
        this.deadLettersByReason.set(buffer.feed, reasons);
      }
      for (const [reason, records] of buffer.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + records);
      if (buffer.bulkLanded > 0)
        this.bulkLanded.set(buffer.feed, (this.bulkLanded.get(buffer.feed) ?? 0) + buffer.bulkLanded);
      for (const [dataset, rows] of Object.entries(buffer.datasetRows) as [DatasetName, number][]) {
        this.stats.rows[dataset] = (this.stats.rows[dataset] ?? 0) + rows;
      }
    }
    this.stats.files += files;
    this.stats.flushes++;
  }

  /**
   * Writes the dead letters of every partition in the flush, one file each, with one statement (as the datasets):
   * a statement per partition cost about half a second a flush when most partitions had a dead letter. Returns the
   * files' lake paths, staged.
   */
  private async writeDeadLetters(
    taken: ReadonlyMap<string, PartitionBuffer>,
    buffers: readonly PartitionBuffer[],
  ): Promise<string[]> {
    // Dated by the flush, as the folder of a dead-letter file always was: the day it was set aside.
    const dt = shanghaiDate(this.now());
    const pieces = datedDeadLetters(buffers, dt);
    if (pieces.length === 0) return [];
    const dir = await this.options.store.scratchDir(DEAD_LETTER_SCRATCH);
    const files = await this.options.writer.writePartitioned(dir, deadLetterColumns, pieces, topicsOf(buffers));
    return Promise.all(
      files.map(async ({ topic, partition, path }) => {
        const buffer = taken.get(partitionId(topic, partition));
        if (!buffer)
          throw new Error(`DuckDB wrote dead letters of ${topic}~${partition}, which this flush did not buffer`);
        const relPath = deadLetterFilePath(buffer.feed, dt, buffer);
        await rename(path, await this.options.store.stagingPath(relPath));
        return relPath;
      }),
    );
  }
}

function quoted(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Characters of dead-letter lines joined into one piece for the writer (far below V8's longest string). */
const DEAD_LETTER_PIECE_CHARS = 8 * 1024 * 1024;

/**
 * The dead letters of a flush's partitions as NDJSON pieces of many lines each, every line with its day `dt` (the
 * partition key); none when there are none. A function of its own, and few pieces for the writer: a loop over
 * thousands of lines inside the async writeDeadLetters (and the writer's loop over as many pieces) had V8 optimize
 * both whole functions, ~100 ms of CPU in a 1,000,000-record sensor backlog, more than its ten dead-letter statements.
 */
function datedDeadLetters(buffers: readonly PartitionBuffer[], dt: string): string[] {
  const dated = `,"dt":"${dt}"}`;
  const pieces: string[] = [];
  let lines: string[] = [];
  let chars = 0;
  for (const buffer of buffers) {
    // Each line is a JSON object (deadLetterLine): the partition key goes in before its closing brace.
    for (const line of buffer.deadLetters) {
      lines.push(`${line.slice(0, -1)}${dated}`);
      chars += line.length;
      if (chars >= DEAD_LETTER_PIECE_CHARS) {
        pieces.push(lines.join('\n'));
        lines = [];
        chars = 0;
      }
    }
  }
  if (lines.length > 0) pieces.push(lines.join('\n'));
  return pieces;
}

/** One dead-letter row as NDJSON (docs/lake.md "Dead letters"). Every string is made well-formed for the writer. */
function deadLetterLine(
  deadLetter: DeadLetter,
  source: string,
  at: { topic: string; partition: number; offset: number },
  deadLetteredAt: string,
  /** Rows of the same message that landed: `dlq replay` re-submits a message whole only when none did. */
  messageRows?: number,
  /** The message this one is a replayed copy of (`cityhub dlq replay`). */
  replayOf?: string,
): string {
  return JSON.stringify({
    feed: deadLetter.feed,
    source,
    reason_code: deadLetter.reason_code,
    // Messages quote values (`expected an integer, got "…"`): scrubbed like the raw payload.
    reason: scrubPersonalText(JSON.stringify(deadLetter.issues)).toWellFormed(),
    raw: deadLetter.raw.toWellFormed(),
    raw_truncated: deadLetter.raw_truncated,
    records: deadLetter.records ?? 1,
    coordinates: JSON.stringify({
      ...at,
      ...(deadLetter.line !== undefined ? { line: deadLetter.line } : {}),
      ...(deadLetter.source_ref !== undefined
        ? { source_ref: scrubPersonalText(deadLetter.source_ref).toWellFormed() }
        : {}),
      ...(messageRows !== undefined ? { message_rows: messageRows } : {}),
      ...(replayOf !== undefined ? { replay_of: replayOf } : {}),
    }),
    _topic: at.topic,
    _partition: at.partition,
    _offset: at.offset,
    dead_lettered_at: deadLetteredAt,
  });
}

/** The key of a bus partition in the lander's maps (as in the lake's file names). */
function partitionId(topic: string, partition: number): string {
  return `${topic}~${partition}`;
}

/** The feed of the raw topic, until the bus carries headers naming the producing connector (docs/lake.md). */
/**
 * `_source` of a message's rows and dead letters: the connector that sent it (its `cityhub-source` header), or the
 * feed for messages sent before connectors stamped one.
 */
function sourceOf(headers: MessageHeaders, feed: Feed): string {
  return headers[SOURCE_HEADER] ?? feed;
}

/** The scope of a single pipeline process: it owns the partitions it has offsets for. */
function scopeOfOffsets(committed: readonly TopicOffset[]): DiscardScope {
  const offsets = new Map(committed.map((c) => [partitionId(c.topic, c.partition), c.offset]));
  return {
    owned: committed.map(({ topic, partition }) => ({ topic, partition })),
    committedOf: async (tp) => offsets.get(partitionId(tp.topic, tp.partition)) ?? 0,
  };
}

/** The disk or memory failing, as opposed to DuckDB refusing a statement or its data. */
function isMachineFailure(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /No space left|I\/O Error|IO Error|Out of Memory|Could not (?:write|read|open)|Permission denied/i.test(
    message,
  );
}

/** The landing columns appended to a row's JSON text: all but the source and offset are fixed per batch. */
class LandingText {
  private source = '';
  private landing = '';
  private readonly coordinates: string;

  constructor(
    topic: string,
    partition: number,
    readonly ingestedAt: string,
  ) {
    this.coordinates = `,"_ingested_at":"${ingestedAt}","_topic":${JSON.stringify(topic)},"_partition":${partition},"_offset":`;
  }

  /** The text closing a row of `source` at `offset`; rebuilt only when the source changes (rarely: one per topic). */
  suffix(source: string, offset: number): string {
    if (source !== this.source || this.landing === '') {
      this.source = source;
      this.landing = `,"_source":${JSON.stringify(source)}${this.coordinates}`;
    }
    return `${this.landing}${offset}}`;
  }
}

/** Non-negative integers written `1,22,333` (DuckDB's string_agg of seqs), read without a string per number. */
export function commaSeparatedIntegers(text: string): number[] {
  const out: number[] = [];
  if (text.length === 0) return out;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x2c) {
      out.push(value);
      value = 0;
    } else if (code >= 0x30 && code <= 0x39) value = value * 10 + (code - 0x30);
    else throw new Error(`not a list of integers at ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))}`);
  }
  out.push(value);
  return out;
}

/** The `_ok` rows' seqs and keys (pairs at the same index) in ascending seq order, as the walk takes them. */
export function inSeqOrder(seqs: number[], keys: string[]): { seqs: number[]; keys: string[] } {
  let ascending = true;
  for (let i = 1; i < seqs.length && ascending; i++) ascending = seqs[i - 1]! < seqs[i]!;
  if (ascending) return { seqs, keys };
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[a]! - seqs[b]!);
  return { seqs: order.map((i) => seqs[i]!), keys: order.map((i) => keys[i]!) };
}

/** The topics of a flush's buffers, each once. */
function topicsOf(buffers: readonly PartitionBuffer[]): string[] {
  return [...new Set(buffers.map((buffer) => buffer.topic))];
}

/** The rows of a bulk temp table that land, as the writer's partitioned copy takes them (columns, then dt). */
function bulkRowsSql(rows: BulkRows, columns: readonly Column[]): string {
  const list = columns.map((c) => quoted(c.name)).join(', ');
  // A list subquery, not an IN list: DuckDB tests an IN list's values one by one on every row (0.7 µs a row for 1,000
  // duplicates), a subquery's through one hash table.
  const duplicates =
    rows.duplicates.length === 0 ? '' : ` and seq not in (select unnest([${rows.duplicates.join(', ')}]))`;
  return `select ${list}, dt from ${rows.table} where _ok${duplicates}`;
}
