import type { Logger } from 'pino';
import type { Bus, BusConsumer, TopicOffset } from '../bus/types.js';
import type { Lander } from '../land/lander.js';

export interface WorkerOptions {
  bus: Bus;
  lander: Lander;
  topics: string[];
  groupId: string;
  log: Logger;
  pollMaxMessages?: number;
  pollMaxWaitMs?: number;
  /** Called after each durable flush + commit. */
  onFlush?: (committed: TopicOffset[]) => void;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 30_000;

/**
 * The pipeline role: consume raw topics, normalize and land, commit after the files are durable.
 * A failed flush is retried from the committed offsets with backoff (never a crash loop, never a lost record).
 */
export class PipelineWorker {
  private consumer: BusConsumer | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Next offset to read per partition, for the drain check. */
  private readonly positions = new Map<string, number>();
  private drainRequested: (() => void) | undefined;
  private failures = 0;

  constructor(private readonly options: WorkerOptions) {}

  async start(): Promise<void> {
    const { bus, topics, groupId, lander, log } = this.options;
    const consumer = bus.consumer({ groupId });
    this.consumer = consumer;
    await consumer.subscribe(topics);
    const committed = await this.committedOffsets();
    const removed = await lander.discardUncommitted(committed);
    if (removed > 0) log.warn({ removed }, 'removed lake files of an interrupted flush; landing them again');
    for (const c of committed) this.positions.set(`${c.topic}~${c.partition}`, c.offset);
    this.loop = this.run();
  }

  /** Consumes until every partition is read to its current end and everything is landed and committed. */
  async drain(): Promise<void> {
    const caughtUp = new Promise<void>((resolve) => {
      this.drainRequested = resolve;
    });
    await caughtUp;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.consumer?.close();
  }

  private async committedOffsets(): Promise<TopicOffset[]> {
    const consumer = this.consumer!;
    return Promise.all(consumer.assignment().map(async (tp) => ({ ...tp, offset: await consumer.committed(tp) })));
  }

  private async caughtUp(): Promise<boolean> {
    for (const topic of this.options.topics) {
      for (const { partition, highWatermark } of await this.options.bus.describe(topic)) {
        if ((this.positions.get(`${topic}~${partition}`) ?? 0) < highWatermark) return false;
      }
    }
    return true;
  }

  private async run(): Promise<void> {
    const { lander, log } = this.options;
    const consumer = this.consumer!;
    while (!this.stopping) {
      try {
        const batches = await consumer.poll({
          maxMessages: this.options.pollMaxMessages ?? 20_000,
          maxWaitMs: this.options.pollMaxWaitMs ?? 100,
        });
        for (const batch of batches) {
          lander.add(batch);
          const last = batch.messages[batch.messages.length - 1];
          if (last) this.positions.set(`${batch.topic}~${batch.partition}`, last.offset + 1);
        }
        const draining = this.drainRequested !== undefined;
        const idle = batches.length === 0;
        if (lander.buffered && (lander.due() || (draining && idle))) {
          const offsets = await lander.flush();
          await consumer.commit(offsets);
          this.failures = 0;
          log.debug({ committed: offsets }, 'flush committed');
          this.options.onFlush?.(offsets);
        }
        if (draining && !lander.buffered && idle && (await this.caughtUp())) {
          const resolve = this.drainRequested!;
          this.drainRequested = undefined;
          resolve();
        }
      } catch (error) {
        this.failures++;
        const delay =
          Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.failures, 10)) * (0.5 + Math.random() / 2);
        log.error(
          { err: error, attempt: this.failures, retry_in_ms: Math.round(delay) },
          'landing failed; re-reading from committed offsets',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        lander.abandon();
        for (const c of await this.committedOffsets()) {
          consumer.seek(c);
          this.positions.set(`${c.topic}~${c.partition}`, c.offset);
        }
      }
    }
  }
}
