import type { Logger } from 'pino';
import { recordsOf } from '../bus/record-run.js';
import type { Bus, BusConsumer, TopicOffset, TopicPartition } from '../bus/types.js';
import { CityhubError } from '../errors.js';
import { FlushRevokedError, type Lander } from '../land/lander.js';
import { backoffDelay, defaultRetryPolicy, isRetriable, type RetryPolicy, sleep } from '../retry.js';
import { PollSize } from './poll-size.js';

export interface WorkerOptions {
  bus: Bus;
  lander: Lander;
  topics: string[];
  groupId: string;
  log: Logger;
  pollMaxMessages?: number;
  pollMaxWaitMs?: number;
  /** Called after each durable flush + commit, with how long the flush and its commit took. */
  onFlush?: (committed: TopicOffset[], ms: number) => void;
  /** Backoff after a failed flush (default: pipelines/retry.ts defaultRetryPolicy; never gives up). */
  retryPolicy?: RetryPolicy;
}

/** What the worker is doing, for the progress line, logs and (later) /readyz. */
export interface WorkerHealth {
  state: 'starting' | 'running' | 'backing_off' | 'stopped';
  /** Failed flushes in a row (0 once a flush succeeds). */
  failures: number;
  last_error?: string;
  /** Whether trying again can help (a full disk) or the failure repeats until someone acts (a bug, a permission). */
  last_error_retriable?: boolean;
  last_error_at?: string;
  last_flush_at?: string;
}

/** How far the group's commits are behind the end of an owned partition, as this member last committed them. */
export interface PartitionLag extends TopicPartition {
  highWatermark: number;
  committed: number;
  /** Messages on the bus not yet landed and committed. */
  lag: number;
}

/** drain() gave up: the bus could not be landed within the time given (flushes kept failing). */
export class DrainTimeoutError extends CityhubError {
  readonly timeoutMs: number;
  readonly lastError: string | undefined;
  constructor(timeoutMs: number, lastError: string | undefined) {
    super(
      `the pipeline could not land everything within ${timeoutMs} ms${lastError ? `; last failure: ${lastError}` : ''}. What was not committed stays on the bus and lands on the next start`,
    );
    this.timeoutMs = timeoutMs;
    this.lastError = lastError;
  }
}

/**
 * The pipeline role: consume raw topics, normalize and land, commit after the files are durable.
 * A failed flush is retried from the committed offsets with backoff (never a crash loop, never a lost record).
 */
export class PipelineWorker {
  private consumer: BusConsumer | undefined;
  private stopping = false;
  /** How many messages the next poll asks for, unless the options fix it. */
  private readonly pollSize = new PollSize();
  private loop: Promise<void> | undefined;
  /** Next offset to read per partition, for the drain check. */
  private readonly positions = new Map<string, number>();
  /** Callers of drain() waiting for the bus to be read to its end and everything landed and committed. */
  private drainWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private failures = 0;
  private readonly status: WorkerHealth = { state: 'starting', failures: 0 };
  /** Aborts a backoff wait when the worker stops. */
  private readonly stopped = new AbortController();
  /** The partitions this member last took over (takeOver()), as a key to notice a rebalance. */
  private assignment = '';
  /** The group's committed offset of each owned partition, as read at takeOver() and committed since. */
  private readonly commits = new Map<string, number>();

  constructor(private readonly options: WorkerOptions) {}

  health(): WorkerHealth {
    return { ...this.status, failures: this.failures };
  }

  async start(): Promise<void> {
    const { bus, topics, groupId } = this.options;
    const consumer = bus.consumer({ groupId });
    this.consumer = consumer;
    await consumer.subscribe(topics);
    const committed = await this.takeOver();
    for (const c of committed) this.positions.set(`${c.topic}~${c.partition}`, c.offset);
    this.loop = this.run();
  }

  /**
   * Consumes until every partition is read to its current end and everything is landed and committed. With a
   * timeout, gives up after it (DrainTimeoutError naming the last failure) so a shutdown ends in bounded time even
   * while flushes fail; nothing is lost: what was not committed is read again on the next start.
   */
  drain(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.drainWaiters.push(waiter);
      if (timeoutMs === undefined) return;
      const timer = setTimeout(() => {
        const i = this.drainWaiters.indexOf(waiter);
        if (i >= 0) this.drainWaiters.splice(i, 1);
        reject(new DrainTimeoutError(timeoutMs, this.status.last_error));
      }, timeoutMs);
      const clear = () => clearTimeout(timer);
      waiter.resolve = () => {
        clear();
        resolve();
      };
      waiter.reject = (error) => {
        clear();
        reject(error);
      };
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await this.loop;
    this.status.state = 'stopped';
    const waiters = this.drainWaiters.splice(0);
    for (const waiter of waiters) waiter.reject(new Error('the pipeline worker stopped before the bus was drained'));
    await this.consumer?.close();
  }

  /**
   * Makes the lake consistent with the group's commits for the partitions this member owns now (at start, after a
   * failure, after a rebalance): removes files of interrupted flushes (its own, and those a member that had these
   * partitions before left), then recalls the dedupe memory. Returns the committed offsets of the owned partitions.
   */
  private async takeOver(): Promise<TopicOffset[]> {
    const { lander, log } = this.options;
    const consumer = this.consumer!;
    const owned = consumer.assignment();
    const key = assignmentKey(owned);
    if (key !== this.assignment) log.info({ partitions: owned.length }, 'landing the partitions this member owns');
    this.assignment = key;
    const committed = await Promise.all(owned.map(async (tp) => ({ ...tp, offset: await consumer.committed(tp) })));
    this.commits.clear();
    for (const c of committed) this.commits.set(`${c.topic}~${c.partition}`, c.offset);
    const removed = await lander.discardUncommitted({ owned, committedOf: (tp) => consumer.committed(tp) });
    if (removed > 0) log.warn({ removed }, 'removed lake files of an interrupted flush; landing them again');
    const recalled = await lander.recallLanded();
    if (recalled > 0) log.debug({ recalled }, 'dedupe memory recalled from the newest landed rows');
    return committed;
  }

  /**
   * The lag of each partition this member owns: the bus's end offset minus the group's committed offset (what this
   * member committed). Empty once stopped (the bus may be closed). One describe() per topic: for /metrics and status.
   */
  async lag(): Promise<PartitionLag[]> {
    if (this.stopping || this.consumer === undefined) return [];
    const owned = new Set(this.consumer.assignment().map((tp) => `${tp.topic}~${tp.partition}`));
    const lags: PartitionLag[] = [];
    for (const topic of this.options.topics) {
      for (const { partition, highWatermark } of await this.options.bus.describe(topic)) {
        const key = `${topic}~${partition}`;
        if (!owned.has(key)) continue;
        const committed = this.commits.get(key) ?? 0;
        lags.push({ topic, partition, highWatermark, committed, lag: Math.max(0, highWatermark - committed) });
      }
    }
    return lags;
  }

  /** Whether this member owns the partition now (none while its group rebalances): the lander asks before a flush. */
  owns(tp: TopicPartition): boolean {
    return (this.consumer?.assignment() ?? []).some((o) => o.topic === tp.topic && o.partition === tp.partition);
  }

  /** True when the group gave this member other partitions than those it last took over. */
  private rebalanced(): boolean {
    return this.consumer !== undefined && assignmentKey(this.consumer.assignment()) !== this.assignment;
  }

  /** Every partition this member owns is read to its end (other members drain theirs). */
  private async caughtUp(): Promise<boolean> {
    const owned = new Set((this.consumer?.assignment() ?? []).map((tp) => `${tp.topic}~${tp.partition}`));
    for (const topic of this.options.topics) {
      for (const { partition, highWatermark } of await this.options.bus.describe(topic)) {
        if (!owned.has(`${topic}~${partition}`)) continue;
        // The consumer's own position counts too: past a gap a repair left, no message says it moved on.
        const read = Math.max(
          this.positions.get(`${topic}~${partition}`) ?? 0,
          this.consumer?.position?.({ topic, partition }) ?? 0,
        );
        if (read < highWatermark) return false;
      }
    }
    return true;
  }

  /** Writes what the lander buffered and commits its offsets; the lander takes its buffers before the first await. */
  private async flushAndCommit(): Promise<void> {
    const started = performance.now();
    const offsets = await this.options.lander.flush();
    await this.consumer!.commit(offsets);
    for (const o of offsets) this.commits.set(`${o.topic}~${o.partition}`, o.offset);
    await this.options.lander.committed();
    this.failures = 0;
    this.status.state = 'running';
    this.status.last_flush_at = new Date().toISOString();
    this.options.log.debug({ committed: offsets }, 'flush committed');
    this.options.onFlush?.(offsets, performance.now() - started);
  }

  private async run(): Promise<void> {
    const { lander, log } = this.options;
    const consumer = this.consumer!;
    // At most one flush runs while the next batches are read and normalized: Parquet encoding (DuckDB's threads)
    // and fsyncs overlap the per-record work. Flushes, and so commits, stay in offset order.
    let inFlight: Promise<void> | undefined;
    const settle = async () => {
      const flushing = inFlight;
      inFlight = undefined;
      await flushing;
    };
    let resetNeeded = false;
    this.status.state = 'running';
    while (!this.stopping) {
      try {
        // Partitions moved between members: what is buffered may belong to another member now, and what this one
        // gained may hold files its old owner left half-flushed. Start over from the commits, as after a failure.
        if (!resetNeeded && this.rebalanced()) {
          await settle().catch(() => {});
          log.info(
            { partitions: this.consumer!.assignment().length },
            'partitions reassigned; resuming from the commits',
          );
          resetNeeded = true;
        }
        if (resetNeeded) {
          lander.abandon();
          // A flush that failed half-way may have renamed some files into place: remove them before re-landing,
          // then recall what is landed, so repeats of committed records are still duplicates.
          const committed = await this.takeOver();
          for (const c of committed) {
            consumer.seek(c);
            this.positions.set(`${c.topic}~${c.partition}`, c.offset);
          }
          resetNeeded = false;
        }
        const batches = await consumer.poll({
          maxMessages: lander.pollRoom(this.options.pollMaxMessages ?? this.pollSize.messages),
          maxWaitMs: this.options.pollMaxWaitMs ?? 100,
        });
        const adding = performance.now();
        let added = 0;
        for (const batch of batches) {
          lander.add(batch);
          const records = recordsOf(batch);
          if (records.length > 0) {
            this.positions.set(`${batch.topic}~${batch.partition}`, records.offset(records.length - 1) + 1);
          }
          added += records.length;
        }
        this.pollSize.took(performance.now() - adding, added);
        const draining = this.drainWaiters.length > 0;
        const idle = batches.length === 0;
        if (lander.buffered && (lander.due() || (draining && idle)) && !this.rebalanced()) {
          await settle();
          inFlight = this.flushAndCommit();
          // Awaited before the next flush or when idle; this only keeps an early failure from being unhandled.
          inFlight.catch(() => {});
        }
        if (idle) await settle();
        if (draining && !lander.buffered && idle && (await this.caughtUp())) {
          for (const waiter of this.drainWaiters.splice(0)) waiter.resolve();
        }
      } catch (error) {
        await settle().catch(() => {});
        if (error instanceof FlushRevokedError) {
          // Not a failure: the group moved partitions while the flush was written. Start over from the commits.
          log.info({ partitions: error.partitions }, error.message);
          resetNeeded = true;
          continue;
        }
        this.failures++;
        // Failures of single records never reach here (they are dead-lettered); what does is the machine or the
        // lake: retried with backoff whatever its kind, since skipping would lose data. A failure that will repeat
        // until someone acts (a permission, a bug) is said so in the log and in health.
        const retriable = isRetriable(error);
        const delay = backoffDelay(this.failures, this.options.retryPolicy ?? defaultRetryPolicy);
        Object.assign(this.status, {
          state: 'backing_off',
          last_error: error instanceof Error ? error.message : String(error),
          last_error_retriable: retriable,
          last_error_at: new Date().toISOString(),
        });
        log.error(
          { err: error, attempt: this.failures, retriable, retry_in_ms: delay },
          retriable
            ? 'landing failed; re-reading from committed offsets after a backoff'
            : 'landing failed with an error that retrying is unlikely to fix (operator action needed); retrying with backoff',
        );
        await sleep(delay, this.stopped.signal).catch(() => {});
        // Nothing is read again until the reset to the committed offsets succeeds.
        resetNeeded = true;
      }
    }
    await settle().catch((error: unknown) =>
      log.error({ err: error }, 'the last flush failed; its records land on restart'),
    );
  }
}

function assignmentKey(owned: readonly TopicPartition[]): string {
  return owned
    .map((tp) => `${tp.topic}~${tp.partition}`)
    .sort()
    .join(',');
}
