import type { Logger } from 'pino';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import { type BusSender, NONE_REFUSED, type RefusedMessage } from '../send.js';
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
  /** The source id: the `cityhub-source` of its messages and dead letters. */
  source: string;
  feed: Feed;
  messages: ProduceMessage[];
  deadLetters: DeadLetterRequest[];
  resolve: (refused: readonly RefusedMessage[]) => void;
  reject: (error: unknown) => void;
}

/** Messages per flush: concurrent requests share one durable append, a burst of large pushes is split. */
const FLUSH_MESSAGES = 8_192;

/**
 * Group commit of concurrent requests: while one flush is on the bus, the requests arriving meanwhile queue and go
 * together in the next, so they share the bus's fsync and the source checkpoint's writes. Flushes run one at a time,
 * so the checkpoint commit after each says truthfully that every send before it was acknowledged. A request's
 * promise resolves once its messages and dead letters are acknowledged, with the messages the bus refused (too large:
 * dead-lettered instead, by their index in the request's `messages`), and rejects when its send failed (nothing of it
 * acknowledged: the bus refuses a failed send whole).
 */
export class GroupAppender {
  private queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly sender: BusSender,
    private readonly checkpoint: SourceCheckpoint | undefined,
    private readonly log: Logger | undefined,
  ) {}

  append(
    source: string,
    feed: Feed,
    messages: ProduceMessage[],
    deadLetters: DeadLetterRequest[],
  ): Promise<readonly RefusedMessage[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ source, feed, messages, deadLetters, resolve, reject });
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
    const sender = this.sender;
    for (const group of groupsOf(batch)) {
      const { source, feed } = group[0]!;
      try {
        if (failure) throw failure.error; // the bus just refused a send: the rest would wait out the same backoff
        const messages = group.length === 1 ? group[0]!.messages : group.flatMap((p) => p.messages);
        const refused = messages.length > 0 ? await sender.send(feed, messages, undefined, source) : NONE_REFUSED;
        // The group's rejects go in one bus send (one log line), not one send per rejected record.
        const letters = group.length === 1 ? group[0]!.deadLetters : group.flatMap((p) => p.deadLetters);
        if (letters.length > 0) await sender.deadLetters(feed, letters, source);
        if (refused.length === 0) for (const pending of group) pending.resolve(NONE_REFUSED);
        else resolveWithRefused(group, refused);
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

/** Hands each request of a group the refusals among its own messages, indexed as in its `messages`. */
function resolveWithRefused(group: PendingAppend[], refused: readonly RefusedMessage[]): void {
  let next = 0;
  let offset = 0;
  for (const pending of group) {
    const end = offset + pending.messages.length;
    const own: RefusedMessage[] = [];
    // `refused` is in message order: each request takes the run that falls within its messages.
    for (; next < refused.length && refused[next]!.index < end; next++)
      own.push({ ...refused[next]!, index: refused[next]!.index - offset });
    pending.resolve(own.length > 0 ? own : NONE_REFUSED);
    offset = end;
  }
}

/** The batch's appends by source and feed, in arrival order of each group's first request. */
function groupsOf(batch: PendingAppend[]): PendingAppend[][] {
  if (batch.length === 1) return [batch];
  const groups = new Map<string, Map<Feed, PendingAppend[]>>();
  const ordered: PendingAppend[][] = [];
  for (const pending of batch) {
    let byFeed = groups.get(pending.source);
    if (!byFeed) {
      byFeed = new Map();
      groups.set(pending.source, byFeed);
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
