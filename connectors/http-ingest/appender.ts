import type { Logger } from 'pino';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import type { BusSender } from '../send.js';
import type { SourceCheckpoint } from '../source-checkpoint.js';
import type { Feed } from '../types.js';

/** A body (or record) that goes to `dlq.<feed>` as a connector dead letter instead of `raw.<feed>`. */
export interface DeadLetterRequest {
  message: ProduceMessage;
  reason: string;
  explanation: string;
  sourceRef?: string;
}

interface PendingAppend {
  sender: BusSender;
  feed: Feed;
  messages: ProduceMessage[];
  deadLetters: DeadLetterRequest[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Messages per flush: concurrent requests share one durable append, a burst of large pushes is split. */
const FLUSH_MESSAGES = 8_192;

/**
 * Group commit of concurrent requests: while one flush is on the bus, the requests arriving meanwhile queue and go
 * together in the next, so they share the bus's fsync and the source checkpoint's writes. Flushes run one at a time,
 * so the checkpoint commit after each says truthfully that every send before it was acknowledged. A request's
 * promise resolves once its messages and dead letters are acknowledged, and rejects when its send failed (nothing
 * of it acknowledged: the bus refuses a failed send whole).
 */
export class GroupAppender {
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly checkpoint: SourceCheckpoint | undefined,
    private readonly log: Logger | undefined,
  ) {}

  append(sender: BusSender, feed: Feed, messages: ProduceMessage[], deadLetters: DeadLetterRequest[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ sender, feed, messages, deadLetters, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Resolves when nothing is queued or on the bus. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.flush(this.takeBatch());
    this.flushing = undefined;
  }

  private takeBatch(): PendingAppend[] {
    let count = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || count + this.queue[n]!.messages.length <= FLUSH_MESSAGES))
      count += this.queue[n++]!.messages.length;
    return this.queue.splice(0, n);
  }

  private async flush(batch: PendingAppend[]): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const group of groupsOf(batch)) {
      const { sender, feed } = group[0]!;
      try {
        if (failure) throw failure.error; // the bus just refused a send: the rest would wait out the same backoff
        const messages = group.length === 1 ? group[0]!.messages : group.flatMap((p) => p.messages);
        if (messages.length > 0) await sender.send(feed, messages);
        for (const pending of group)
          for (const d of pending.deadLetters)
            await sender.deadLetter(feed, d.message, d.reason, d.explanation, d.sourceRef);
        for (const pending of group) pending.resolve();
      } catch (error) {
        failure ??= { error };
        for (const pending of group) pending.reject(error);
      }
    }
    try {
      // Nothing is in flight any more; a push source has no position to keep.
      await this.checkpoint?.commit(null);
    } catch (error) {
      this.log?.warn({ err: error }, 'http-ingest checkpoint commit failed; the next flush commits again');
    }
  }
}

/** The batch's appends by sender and feed, in arrival order of each group's first request. */
function groupsOf(batch: PendingAppend[]): PendingAppend[][] {
  if (batch.length === 1) return [batch];
  const groups = new Map<BusSender, Map<Feed, PendingAppend[]>>();
  const ordered: PendingAppend[][] = [];
  for (const pending of batch) {
    let byFeed = groups.get(pending.sender);
    if (!byFeed) {
      byFeed = new Map();
      groups.set(pending.sender, byFeed);
    }
    let group = byFeed.get(pending.feed);
    if (!group) {
      group = [];
      byFeed.set(pending.feed, group);
      ordered.push(group);
    }
    group.push(pending);
  }
  return ordered;
}
