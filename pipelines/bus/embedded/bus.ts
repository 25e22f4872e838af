/**
 * The embedded bus: opens the log folder (lock, recovery), owns the topics, the group store and coordinator, the
 * shared fsync scheduler, backpressure and the retention timer, and hands out producers and consumers.
 */
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import type { Bus, BusConsumer, BusMessage, BusProducer, TopicPartition, TopicSpec } from '../types.js';
import { Backpressure } from './backpressure.js';
import { EmbeddedConsumer } from './consumer.js';
import { EmbeddedBusArgumentError, EmbeddedBusClosedError, EmbeddedTopicNotFoundError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_LIMIT } from './frame.js';
import { loadOrCreateGeneration } from './generation.js';
import { GroupCoordinator } from './group-coordinator.js';
import { GROUPS_DIR, GroupStore, validateGroupId } from './group-store.js';
import { DirLock } from './lock.js';
import type { FsyncPolicy, Partition, PartitionOptions } from './partition.js';
import { PolledRecords } from './polled-records.js';
import { EmbeddedProducer } from './producer.js';
import { segmentsToDelete } from './retention.js';
import { fsSegmentIo, type SegmentIo, type TruncatedTail } from './segment.js';
import { SyncScheduler } from './sync-scheduler.js';
import { metaFromSpec, Topic, validateTopicName } from './topic.js';

export interface EmbeddedBusOptions {
  /** Root folder of the log (created if missing). */
  dir: string;
  /**
   * 'always' (default): send() resolves only after fsync (group commit: concurrent sends share one fsync), and
   * consumers only see synced data. 'never': after write() only: survives kill -9 of the process, not power loss.
   */
  fsync?: FsyncPolicy;
  /** Roll to a new segment file past this size (default 64 MiB). */
  segmentBytes?: number;
  /**
   * Largest message a send may hold, key + value bytes (default 8 MiB, at most MAX_MESSAGE_BYTES_LIMIT, which the
   * reader can always return). A send with a larger message is refused whole with MessageTooLargeError.
   */
  maxMessageBytes?: number;
  /**
   * Backpressure: send() waits while (end position − slowest subscribed group's committed position) of the target
   * partition exceeds this many bytes. Default 256 MiB; 0 = off. Groups without a subscribed member do not count.
   */
  maxLagBytes?: number;
  /** How often retention runs (default 60000). Retention only deletes whole segments below every group's commit. */
  retentionCheckMs?: number;
  /** Things an operator should know that are not errors; default: process.emitWarning. */
  onWarning?: (warning: EmbeddedBusWarning) => void;
  /** The writes and fsyncs of appends (default the real file system); tests inject a full disk here. */
  io?: SegmentIo;
}

export type EmbeddedBusWarning =
  | ({ kind: 'truncated-tail'; message: string } & TruncatedTail)
  | { kind: 'retention-failed'; message: string; error: unknown };

const MIB = 1024 * 1024;
const MAX_SEGMENT_BYTES = 1024 * MIB;
/** Log bytes one read() returns at most (one larger message is still returned whole). */
const READ_MAX_BYTES = 16 * MIB;

interface ResolvedOptions {
  dir: string;
  fsync: FsyncPolicy;
  segmentBytes: number;
  maxMessageBytes: number;
  maxLagBytes: number;
  retentionCheckMs: number;
  onWarning: (warning: EmbeddedBusWarning) => void;
  io: SegmentIo;
}

export class EmbeddedBus implements Bus {
  readonly dir: string;
  private generationId = '';
  readonly coordinator: GroupCoordinator;
  readonly backpressure: Backpressure;

  private readonly topics = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<Topic>>();
  private readonly sync = new SyncScheduler();
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly producers = new Set<EmbeddedProducer>();
  private readonly pending = new Set<Promise<unknown>>();
  private groupStore: GroupStore | undefined;
  private lock: DirLock | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<number> | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly options: ResolvedOptions) {
    this.dir = options.dir;
    this.coordinator = new GroupCoordinator(
      (topic) => this.topics.get(topic)?.partitions.length,
      () => this.backpressure.recheck(),
    );
    this.backpressure = new Backpressure(options.maxLagBytes, (partition) => this.lagBytes(partition));
  }

  /** Locks the folder, loads group offsets and recovers every topic (see Segment.recover). */
  static async open(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
    const bus = new EmbeddedBus(resolveOptions(options));
    await fs.promises.mkdir(bus.dir, { recursive: true });
    bus.lock = DirLock.acquire(bus.dir);
    try {
      bus.generationId = await loadOrCreateGeneration(bus.dir);
      bus.groupStore = await GroupStore.open(bus.dir, bus.options.fsync, () => bus.backpressure.recheck());
      for (const entry of await fs.promises.readdir(bus.dir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === GROUPS_DIR) continue;
        const meta = await Topic.readMeta(join(bus.dir, entry.name));
        if (!meta) continue;
        bus.topics.set(entry.name, await Topic.open(bus.dir, entry.name, meta, false, bus.partitionOptions()));
      }
    } catch (err) {
      await Promise.allSettled([...bus.topics.values()].map((topic) => topic.close()));
      bus.lock.release();
      throw err;
    }
    bus.retentionTimer = setInterval(() => {
      bus.enforceRetention().catch((error: unknown) => {
        if (!bus.closing)
          bus.options.onWarning({ kind: 'retention-failed', message: `retention failed: ${error}`, error });
      });
    }, bus.options.retentionCheckMs);
    bus.retentionTimer.unref();
    return bus;
  }

  /** See Bus.generation; kept in `<dir>/bus.json`. */
  get generation(): string {
    return this.generationId;
  }

  /** Largest key + value a message may have; the producer refuses sends over it. */
  get maxMessageBytes(): number {
    return this.options.maxMessageBytes;
  }

  get groups(): GroupStore {
    return this.groupStore!;
  }

  /** Creates the topic if missing; an existing topic keeps its partition count (its retention is updated). */
  async ensureTopic(name: string, spec: TopicSpec): Promise<void> {
    this.assertOpen('ensureTopic');
    validateTopicName(name);
    const meta = metaFromSpec(spec);
    await this.track(
      (async () => {
        // Looked up before any await: two concurrent calls for a new topic must not both start creating it.
        const found = this.topics.get(name) ?? this.creating.get(name);
        if (found) {
          const existing = await found;
          await existing.updateRetention(meta);
          return;
        }
        const creation = Topic.open(this.dir, name, meta, true, this.partitionOptions());
        this.creating.set(name, creation);
        try {
          this.topics.set(name, await creation);
        } finally {
          this.creating.delete(name);
        }
        this.coordinator.topicCreated(name);
      })(),
    );
  }

  producer(): BusProducer {
    this.assertOpen('create a producer');
    const producer = new EmbeddedProducer(this);
    this.producers.add(producer);
    return producer;
  }

  consumer(options: { groupId: string }): BusConsumer {
    this.assertOpen('create a consumer');
    validateGroupId(options?.groupId);
    const consumer = new EmbeddedConsumer(options.groupId, this);
    this.consumers.add(consumer);
    return consumer;
  }

  async read(
    tp: TopicPartition,
    offset: number,
    maxMessages: number,
  ): Promise<{ messages: BusMessage[]; nextOffset: number }> {
    this.assertOpen('read');
    const partition = this.topic(tp.topic).partitions[tp.partition];
    if (!partition) throw new EmbeddedBusArgumentError('partition', tp.partition, `a partition of ${tp.topic}`);
    const records = new PolledRecords(tp.topic, tp.partition);
    const from = Math.max(offset, partition.lowWatermark);
    const nextOffset = await partition.read(from, maxMessages, READ_MAX_BYTES, records);
    return { messages: records.messages(), nextOffset };
  }

  async describe(name: string): Promise<{ partition: number; highWatermark: number; lowWatermark: number }[]> {
    this.assertOpen('describe');
    return this.topic(name).partitions.map((partition) => ({
      partition: partition.id,
      highWatermark: partition.highWatermark,
      lowWatermark: partition.lowWatermark,
    }));
  }

  /**
   * Runs retention now (the timer calls it every retentionCheckMs); returns how many segments were deleted.
   * A group protects a topic once it committed on it or while a member is subscribed to it.
   */
  enforceRetention(): Promise<number> {
    this.assertOpen('enforce retention');
    this.retentionRun ??= this.track(this.retain()).finally(() => {
      this.retentionRun = null;
    });
    return this.retentionRun;
  }

  /** Waits for in-flight sends, fsyncs everything, closes every descriptor and releases the lock. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- host interface of producers and consumers ----

  assertOpen(operation: string): void {
    if (this.closing) throw new EmbeddedBusClosedError('bus', operation);
  }

  topic(name: string): Topic {
    const topic = this.topics.get(name);
    if (!topic) throw new EmbeddedTopicNotFoundError(name);
    return topic;
  }

  findTopic(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  forget(consumer: EmbeddedConsumer): void {
    this.consumers.delete(consumer);
  }

  // ---- internals ----

  private partitionOptions(): PartitionOptions {
    return {
      fsync: this.options.fsync,
      segmentBytes: this.options.segmentBytes,
      sync: this.sync,
      io: this.options.io,
      onTruncate: (tail) =>
        this.options.onWarning({
          kind: 'truncated-tail',
          message: `recovered ${tail.file}: dropped ${tail.droppedBytes} bytes from byte ${tail.position} (${tail.reason})`,
          ...tail,
        }),
    };
  }

  /** Bytes the slowest subscribed group is behind on `partition`; 0 when no group subscribes to its topic. */
  private lagBytes(partition: Partition): number {
    const groups = this.coordinator.subscribedGroups(partition.topic);
    if (groups.length === 0) return 0;
    let slowest = Infinity;
    for (const groupId of groups) {
      slowest = Math.min(slowest, this.groups.committed(groupId, partition.topic, partition.id));
    }
    return partition.endBytes - partition.bytePosition(slowest);
  }

  private async retain(): Promise<number> {
    let deleted = 0;
    const now = Date.now();
    for (const topic of this.topics.values()) {
      const policy = topic.meta;
      if (policy.retentionMs === 0 && policy.retentionBytes === 0) continue;
      const groups = new Set([...this.groups.groupsOf(topic.name), ...this.coordinator.subscribedGroups(topic.name)]);
      for (const partition of topic.partitions) {
        let protectFrom = Infinity;
        for (const groupId of groups) {
          protectFrom = Math.min(protectFrom, this.groups.committed(groupId, topic.name, partition.id));
        }
        const count = segmentsToDelete(partition.sealedSegments(), partition.sizeBytes, protectFrom, policy, now);
        if (count === 0) continue;
        await partition.deleteOldest(count);
        deleted += count;
      }
    }
    return deleted;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const untrack = () => this.pending.delete(work);
    work.then(untrack, untrack);
    return work;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.retentionTimer);
    const closed = new EmbeddedBusClosedError('bus', 'send');
    this.backpressure.rejectAll(closed);
    for (const consumer of [...this.consumers]) await consumer.close();
    await Promise.allSettled([...this.pending]);
    await Promise.allSettled([...this.producers].map((producer) => producer.close()));
    const errors: unknown[] = [];
    for (const topic of this.topics.values()) await topic.close().catch((err: unknown) => errors.push(err));
    await this.sync.idle();
    await this.groupStore?.flush().catch((err: unknown) => errors.push(err));
    this.lock?.release();
    if (errors.length > 0) throw errors[0];
  }
}

/** Default options applied and checked, so a typo fails at open with the option's name. */
function resolveOptions(options: EmbeddedBusOptions): ResolvedOptions {
  if (typeof options?.dir !== 'string' || options.dir === '') {
    throw new EmbeddedBusArgumentError('dir', options?.dir, 'a folder path');
  }
  const fsync = options.fsync ?? 'always';
  if (fsync !== 'always' && fsync !== 'never')
    throw new EmbeddedBusArgumentError('fsync', fsync, "'always' or 'never'");
  return {
    dir: resolve(options.dir),
    fsync,
    segmentBytes: integer('segmentBytes', options.segmentBytes, 64 * MIB, 1024, MAX_SEGMENT_BYTES),
    maxMessageBytes: integer(
      'maxMessageBytes',
      options.maxMessageBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
      1,
      MAX_MESSAGE_BYTES_LIMIT,
    ),
    maxLagBytes: integer('maxLagBytes', options.maxLagBytes, 256 * MIB, 0, Number.MAX_SAFE_INTEGER),
    retentionCheckMs: integer('retentionCheckMs', options.retentionCheckMs, 60_000, 1, 2 ** 31 - 1),
    onWarning: options.onWarning ?? defaultWarning,
    io: options.io ?? fsSegmentIo,
  };
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new EmbeddedBusArgumentError(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function defaultWarning(warning: EmbeddedBusWarning): void {
  process.emitWarning(warning.message, { code: 'CITYHUB_EMBEDDED_BUS' });
}
