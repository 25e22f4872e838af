/**
 * A consumer group member: owns the partitions the coordinator gives it, reads them from its own positions
 * (starting at the group's committed offsets) and commits through the group store.
 */
import { BufferPool } from '../../buffer-pool.js';
import type { BusConsumer, PartitionBatch, PollOptions, TopicOffset, TopicPartition } from '../types.js';
import { EmbeddedBusArgumentError, EmbeddedBusClosedError, EmbeddedBusStateError } from './errors.js';
import type { GroupCoordinator, GroupMember } from './group-coordinator.js';
import type { GroupStore } from './group-store.js';
import type { Partition } from './partition.js';
import { PolledRecords, polledBatch } from './polled-records.js';
import type { Topic } from './topic.js';
import { validateTopicName } from './topic.js';

/** Log bytes one read call may take; a poll makes more calls while it wants more messages. */
const MAX_READ_BYTES = 16 * 1024 * 1024;
/**
 * Read buffers kept for reuse once the records read into them are released (RecordRun.release): a flush's worth of
 * polls. A fresh buffer costs a page fault per 4 KiB as the kernel copies into it (perf, a 300,000-record sensor
 * run: 22,000 of its 139,000 page faults came from these reads); a reused one costs none.
 */
const READ_BUFFERS_KEPT = 256;

export interface ConsumerHost {
  assertOpen(operation: string): void;
  /** The topic, or EmbeddedTopicNotFoundError. */
  topic(name: string): Topic;
  /** The topic, or undefined while it does not exist (subscriptions may precede ensureTopic). */
  findTopic(name: string): Topic | undefined;
  readonly coordinator: GroupCoordinator;
  readonly groups: GroupStore;
  forget(consumer: EmbeddedConsumer): void;
}

export class EmbeddedConsumer implements BusConsumer, GroupMember {
  readonly memberId: number;
  topics: ReadonlySet<string> = new Set();

  private owned: Partition[] = [];
  private positions = new Map<Partition, number>();
  /** Bumped by seek and by losing a partition, so a poll that was reading meanwhile drops what it read. */
  private readonly epochs = new Map<Partition, number>();
  private readonly readBuffers = new BufferPool(READ_BUFFERS_KEPT);
  private polling = false;
  private wake: (() => void) | null = null;
  private closed = false;
  private rotation = 0;

  constructor(
    readonly groupId: string,
    private readonly host: ConsumerHost,
  ) {
    this.memberId = host.coordinator.newMemberId();
  }

  /** Replaces the subscription; the group rebalances before this resolves. */
  async subscribe(topics: string[]): Promise<void> {
    this.assertOpen('subscribe');
    if (!Array.isArray(topics)) throw new EmbeddedBusArgumentError('topics', topics, 'an array of topic names');
    for (const topic of topics) validateTopicName(topic);
    this.topics = new Set(topics);
    this.host.coordinator.join(this);
  }

  assignment(): TopicPartition[] {
    return this.owned.map((partition) => ({ topic: partition.topic, partition: partition.id }));
  }

  /** Called by the coordinator. Kept partitions keep their position; new ones start at the committed offset. */
  assign(partitions: TopicPartition[]): void {
    const next = partitions.map(({ topic, partition }) => this.host.topic(topic).partitions[partition]!);
    const keep = new Set(next);
    for (const partition of this.owned) {
      if (keep.has(partition)) continue;
      this.positions.delete(partition);
      this.epochs.set(partition, (this.epochs.get(partition) ?? 0) + 1);
    }
    this.owned = next;
    this.wake?.();
  }

  async committed(tp: TopicPartition): Promise<number> {
    this.assertOpen('read committed offsets');
    return this.host.groups.committed(this.groupId, tp.topic, tp.partition);
  }

  /**
   * Returns as soon as some owned partition has messages past this member's position (at most maxMessages in
   * all, partitions served round-robin so none starves); otherwise waits for an append, a rebalance or close,
   * up to maxWaitMs. One poll at a time per consumer, like Kafka's.
   */
  async poll(options: PollOptions): Promise<PartitionBatch[]> {
    this.assertOpen('poll');
    const { maxMessages, maxWaitMs } = options ?? ({} as PollOptions);
    if (!Number.isInteger(maxMessages) || maxMessages < 1) {
      throw new EmbeddedBusArgumentError('maxMessages', maxMessages, 'a positive integer');
    }
    if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0)) {
      throw new EmbeddedBusArgumentError('maxWaitMs', maxWaitMs, 'a non-negative number');
    }
    if (this.polling) throw new EmbeddedBusStateError('poll() is already running on this consumer; await it first');
    this.polling = true;
    try {
      const deadline = performance.now() + maxWaitMs;
      for (;;) {
        const batches = await this.fetch(maxMessages);
        if (this.closed) return [];
        if (batches.length > 0) return batches;
        const remaining = deadline - performance.now();
        if (remaining <= 0) return [];
        await this.waitForData(remaining);
        if (this.closed) return [];
      }
    } finally {
      this.polling = false;
    }
  }

  /** The next offset this member reads from an owned partition (past any gap a repair left), or undefined. */
  position({ topic, partition }: TopicPartition): number | undefined {
    const owned = this.owned.find((p) => p.topic === topic && p.id === partition);
    return owned ? this.positions.get(owned) : undefined;
  }

  seek({ topic, partition, offset }: TopicOffset): void {
    this.assertOpen('seek');
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new EmbeddedBusArgumentError('offset', offset, 'a non-negative integer');
    }
    const owned = this.owned.find((p) => p.topic === topic && p.id === partition);
    if (!owned) {
      throw new EmbeddedBusStateError(
        `cannot seek ${topic}/${partition}: not assigned to this member of group ${this.groupId}`,
      );
    }
    this.positions.set(owned, offset);
    this.epochs.set(owned, (this.epochs.get(owned) ?? 0) + 1);
    this.wake?.();
  }

  async commit(offsets: TopicOffset[]): Promise<void> {
    this.assertOpen('commit');
    if (!Array.isArray(offsets)) throw new EmbeddedBusArgumentError('offsets', offsets, 'an array');
    const checked: TopicOffset[] = [];
    for (const { topic, partition, offset } of offsets) {
      const partitions = this.host.topic(topic).partitions.length;
      if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
        throw new EmbeddedBusArgumentError('partition', partition, `0 to ${partitions - 1} for topic ${topic}`);
      }
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new EmbeddedBusArgumentError('offset', offset, 'a non-negative integer');
      }
      checked.push({ topic, partition, offset });
    }
    if (checked.length === 0) return;
    await this.host.groups.commit(this.groupId, checked);
  }

  /** Leaves the group (its partitions go to the other members) and ends a running poll with nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.host.coordinator.leave(this);
    this.host.forget(this);
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new EmbeddedBusClosedError('consumer', operation);
    this.host.assertOpen(operation);
  }

  /** Position of an owned partition, moved into [lowWatermark, highWatermark] like Kafka's offset reset. */
  private positionOf(partition: Partition): number {
    let position =
      this.positions.get(partition) ?? this.host.groups.committed(this.groupId, partition.topic, partition.id);
    // Below the log start: retention removed it, start at the oldest kept. Past the end: the log lost a tail
    // (power loss with fsync 'never'), so continue where new appends will go.
    if (position < partition.lowWatermark) position = partition.lowWatermark;
    else if (position > partition.highWatermark) position = partition.highWatermark;
    this.positions.set(partition, position);
    return position;
  }

  private async fetch(maxMessages: number): Promise<PartitionBatch[]> {
    const owned = this.owned;
    const batches: PartitionBatch[] = [];
    if (owned.length === 0) return batches;
    const start = this.rotation++ % owned.length;
    // A poll is shared among the partitions with messages waiting, as a Kafka fetch is: filled from one partition at
    // a time, a backlog was read one partition after another in stretches of a whole poll, and the other partitions'
    // records in between pushed a repeat's original out of the dedupe window (departmental chunks: 100,000 records a
    // poll).
    let waiting = 0;
    for (const partition of owned) if (this.positionOf(partition) < partition.highWatermark) waiting++;
    const share = Math.ceil(maxMessages / Math.max(1, waiting));
    let taken = 0;
    for (let k = 0; k < owned.length && taken < maxMessages; k++) {
      const partition = owned[(start + k) % owned.length]!;
      let position = this.positionOf(partition);
      if (position >= partition.highWatermark) continue;
      const epoch = this.epochs.get(partition) ?? 0;
      const records = new PolledRecords(partition.topic, partition.id, this.readBuffers);
      let remaining = Math.min(share, maxMessages - taken);
      while (remaining > 0 && position < partition.highWatermark) {
        const next = await partition.read(position, remaining, MAX_READ_BYTES, records);
        if (next === position) break;
        remaining = Math.min(share, maxMessages - taken) - records.length;
        position = next;
        if (this.closed || (this.epochs.get(partition) ?? 0) !== epoch) break;
      }
      // A seek or a rebalance happened while reading: what was read no longer follows the member's position.
      if (this.closed || (this.epochs.get(partition) ?? 0) !== epoch) continue;
      this.positions.set(partition, position);
      if (records.length > 0) {
        batches.push(polledBatch(records, partition.highWatermark));
        taken += records.length;
      }
    }
    return batches;
  }

  /** Resolves on the first of: an append to an owned partition, a rebalance or seek, close, or the timeout. */
  private waitForData(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const watched = this.owned;
      const done = (): void => {
        clearTimeout(timer);
        for (const partition of watched) partition.offData(done);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      for (const partition of watched) partition.onData(done);
      // Data may have arrived between the fetch and now.
      if (watched.some((partition) => this.positionOf(partition) < partition.highWatermark)) done();
    });
  }
}
