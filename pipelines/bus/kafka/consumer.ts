/**
 * BusConsumer over a kafkajs group consumer. kafkajs pushes batches (`eachBatch`); the bus's callers pull (`poll`).
 * Each batch kafkajs hands over waits in a queue until poll() takes its messages (heart-beating meanwhile, so a slow
 * lander does not cost the group membership); only then is its offset resolved, so kafkajs fetches on from what
 * the caller really has. kafkajs never commits (autoCommit off): only commit() does, with the caller's offsets, which
 * the pipeline gives only after landing. A rebalance or a seek drops the queued batches of the partitions concerned
 * without resolving them.
 */
import type { Batch, Consumer, EachBatchPayload } from 'kafkajs';
import type { BusConsumer, PartitionBatch, PollOptions, TopicOffset, TopicPartition } from '../types.js';
import { KafkaBusError, KafkaBusStateError } from './errors.js';
import { toBusMessage } from './messages.js';
import type { TopicNames } from './topics.js';

/** A batch kafkajs handed to eachBatch, waiting for poll() to take its messages. */
interface Handover {
  key: string;
  topic: string;
  partition: number;
  batch: Batch;
  /** Index of the next message of batch.messages poll() has not taken. */
  next: number;
  resolveOffset: (offset: string) => void;
  isStale: () => boolean;
  /** Ends the eachBatch call: everything taken, or dropped (rebalance, seek, close). */
  release: () => void;
}

export interface KafkaConsumerDeps {
  consumer: Consumer;
  names: TopicNames;
  /** The group's committed offset of a cluster topic's partition (-1 = none). */
  fetchCommitted: (clusterTopic: string, partition: number) => Promise<number>;
  heartbeatIntervalMs: number;
  joinTimeoutMs: number;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class KafkaBusConsumer implements BusConsumer {
  private owned: TopicPartition[] = [];
  private readonly queue: Handover[] = [];
  private readonly positions = new Map<string, number>();
  private wakePoll: (() => void) | undefined;
  private crashed: unknown;
  private closed = false;
  private polling = false;

  constructor(
    readonly groupId: string,
    private readonly deps: KafkaConsumerDeps,
  ) {}

  async subscribe(topics: string[]): Promise<void> {
    const { consumer, names } = this.deps;
    const firstJoin = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new KafkaBusError(`join group ${this.groupId}`, new Error('timed out'))),
        this.deps.joinTimeoutMs,
      );
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        this.assign(payload.memberAssignment);
        clearTimeout(timer);
        resolve();
      });
    });
    // Awaited below; until then a timeout must not surface as an unhandled rejection (e.g. when run() throws).
    firstJoin.catch(() => {});
    // Kafka's eager rebalance: a member gives up every partition when it learns of a rebalance, before it rejoins
    // (as the Java client revokes them). Until the new assignment arrives it owns nothing, so the pipeline puts no
    // file of a partition in place that another member may be given meanwhile.
    consumer.on(consumer.events.REBALANCING, () => {
      this.owned = [];
      this.drop(() => true);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // A crashed member owns nothing until it has joined again: its old assignment may already be another's.
      this.owned = [];
      // kafkajs restarts itself after retriable failures; only a crash it gives up on is the caller's problem.
      if (!payload.restart) {
        this.crashed = payload.error;
        this.wake();
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: topics.map((t) => names.onCluster(t)), fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Every partition's batch of a fetch can wait for poll() at once, so one poll spans partitions.
        partitionsConsumedConcurrently: 64,
        eachBatch: (payload) => this.handOver(payload),
      });
    } catch (error) {
      throw new KafkaBusError(`subscribe group ${this.groupId}`, error);
    }
    await firstJoin;
  }

  assignment(): TopicPartition[] {
    return this.owned.map((tp) => ({ ...tp }));
  }

  async committed(tp: TopicPartition): Promise<number> {
    this.assertOpen('read committed offsets');
    const offset = await this.deps.fetchCommitted(this.deps.names.onCluster(tp.topic), tp.partition);
    return Math.max(offset, 0);
  }

  async poll({ maxMessages, maxWaitMs }: PollOptions): Promise<PartitionBatch[]> {
    this.assertOpen('poll');
    if (this.polling) throw new KafkaBusStateError('poll() is already running on this consumer; await it first');
    this.polling = true;
    try {
      if (this.queue.length === 0 && maxWaitMs > 0) await this.waitForBatches(maxWaitMs);
      if (this.crashed !== undefined) throw new KafkaBusError(`consume in group ${this.groupId}`, this.crashed);
      return this.take(maxMessages);
    } finally {
      this.polling = false;
    }
  }

  position(tp: TopicPartition): number | undefined {
    return this.positions.get(tpKey(tp.topic, tp.partition));
  }

  seek({ topic, partition, offset }: TopicOffset): void {
    this.assertOpen('seek');
    if (!this.owned.some((tp) => tp.topic === topic && tp.partition === partition)) {
      throw new KafkaBusStateError(
        `cannot seek ${topic}/${partition}: not assigned to this member of group ${this.groupId}`,
      );
    }
    const key = tpKey(topic, partition);
    this.drop((h) => h.key === key);
    this.positions.set(key, offset);
    this.deps.consumer.seek({ topic: this.deps.names.onCluster(topic), partition, offset: String(offset) });
  }

  async commit(offsets: TopicOffset[]): Promise<void> {
    this.assertOpen('commit');
    if (offsets.length === 0) return;
    try {
      await this.deps.consumer.commitOffsets(
        offsets.map((o) => ({
          topic: this.deps.names.onCluster(o.topic),
          partition: o.partition,
          offset: String(o.offset),
        })),
      );
    } catch (error) {
      throw new KafkaBusError(`commit offsets of group ${this.groupId}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.drop(() => true);
    this.wake();
    // Leaves the group, so its partitions go to the other members at once instead of after the session timeout.
    await this.deps.consumer.disconnect();
  }

  /** eachBatch: queue the batch and wait until poll() took all of it or it was dropped. */
  private async handOver(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.closed || payload.isStale() || batch.messages.length === 0) return;
    const topic = this.deps.names.local(batch.topic);
    // A batch fetched before a rebalance took its partition away is not this member's to hand over.
    if (!this.owned.some((tp) => tp.topic === topic && tp.partition === batch.partition)) return;
    let released = false;
    let wakeHandler: () => void = () => {};
    const handover: Handover = {
      key: tpKey(topic, batch.partition),
      topic,
      partition: batch.partition,
      batch,
      next: 0,
      resolveOffset: payload.resolveOffset,
      isStale: payload.isStale,
      release: () => {
        released = true;
        wakeHandler();
      },
    };
    this.queue.push(handover);
    this.wake();
    try {
      while (!released) {
        await new Promise<void>((resolve) => {
          wakeHandler = resolve;
          setTimeout(resolve, this.deps.heartbeatIntervalMs).unref();
        });
        // Throttled by kafkajs to the heartbeat interval; throws when the group rebalances, and kafkajs rejoins.
        if (!released) await payload.heartbeat();
      }
    } catch (error) {
      this.drop((h) => h === handover);
      throw error;
    }
  }

  private take(maxMessages: number): PartitionBatch[] {
    const out = new Map<string, PartitionBatch>();
    let taken = 0;
    while (taken < maxMessages && this.queue.length > 0) {
      const handover = this.queue[0]!;
      if (handover.isStale()) {
        this.queue.shift();
        handover.release();
        continue;
      }
      const { batch, topic, partition } = handover;
      let target = out.get(handover.key);
      if (target === undefined) {
        target = { topic, partition, messages: [], highWatermark: Number(batch.highWatermark) };
        out.set(handover.key, target);
      }
      const end = Math.min(batch.messages.length, handover.next + maxMessages - taken);
      for (let i = handover.next; i < end; i++)
        target.messages.push(toBusMessage(topic, partition, batch.messages[i]!));
      taken += end - handover.next;
      handover.next = end;
      const last = batch.messages[end - 1]!;
      handover.resolveOffset(last.offset);
      this.positions.set(handover.key, Number(last.offset) + 1);
      if (end === batch.messages.length) {
        this.queue.shift();
        handover.release();
      }
    }
    return [...out.values()];
  }

  /** After every join: the new assignment; queued batches of partitions taken away are dropped, never handed over. */
  private assign(memberAssignment: Record<string, number[]>): void {
    const owned: TopicPartition[] = [];
    for (const [clusterTopic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) owned.push({ topic: this.deps.names.local(clusterTopic), partition });
    }
    owned.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    this.owned = owned;
    const keep = new Set(owned.map((tp) => tpKey(tp.topic, tp.partition)));
    this.drop((h) => !keep.has(h.key));
    for (const key of [...this.positions.keys()]) if (!keep.has(key)) this.positions.delete(key);
    // kafkajs starts every partition of a new generation (a rebalance, or a rejoin after a lost connection) at the
    // group's committed offset. A partition this member kept goes on from where its caller was instead: what was
    // handed over but not yet committed is still in the caller's hands (the lander's buffer), and handing it over
    // again would repeat it there. Runs synchronously in GROUP_JOIN, before the new generation's first fetch.
    for (const tp of owned) {
      const position = this.positions.get(tpKey(tp.topic, tp.partition));
      if (position === undefined) continue;
      this.deps.consumer.seek({
        topic: this.deps.names.onCluster(tp.topic),
        partition: tp.partition,
        offset: String(position),
      });
    }
  }

  private drop(which: (h: Handover) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const handover = this.queue[i]!;
      if (!which(handover)) continue;
      this.queue.splice(i, 1);
      handover.release();
    }
  }

  private waitForBatches(maxWaitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wake(), maxWaitMs);
      this.wakePoll = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wake(): void {
    const wake = this.wakePoll;
    this.wakePoll = undefined;
    wake?.();
  }

  private assertOpen(operation: string): void {
    if (this.closed)
      throw new KafkaBusStateError(`${operation} on a closed Kafka bus consumer of group ${this.groupId}`);
  }
}
