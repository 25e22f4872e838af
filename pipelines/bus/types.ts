/**
 * The bus contract every implementation honours (the embedded durable log today, Kafka via kafkajs later).
 * Semantics follow Kafka: topics split into partitions; a key always maps to the same partition; offsets are
 * per partition, dense and start at 0; a consumer group's committed offset is the next offset it will read.
 */
import type { MessageHeaders } from './headers.js';

export type { MessageHeaders } from './headers.js';

export interface ProduceMessage {
  key?: string | null;
  value: Buffer | string;
  /** Epoch milliseconds; defaults to the append time. */
  timestamp?: number;
  /**
   * Per-message metadata (Kafka's record headers): string names and values, UTF-8 on the wire, at most
   * MAX_HEADER_COUNT of them and MAX_HEADER_BYTES of names and values (pipelines/bus/headers.ts); their bytes count
   * toward `bus.max_message_bytes`. A send breaking the limits is refused whole with InvalidHeadersError.
   */
  headers?: MessageHeaders;
}

export interface ProduceResult {
  topic: string;
  partition: number;
  /** Offset of the first message of this send that went to that partition. */
  baseOffset: number;
  count: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface BusMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  timestamp: number;
  /** The headers the message was sent with; NO_HEADERS (shared, frozen, empty) when it had none. */
  headers: MessageHeaders;
}

/** Messages of one partition, in offset order. */
export interface PartitionBatch extends TopicPartition {
  /** The messages as objects. A bus that hands over `records` builds them only when this is first read. */
  readonly messages: BusMessage[];
  /** Offset the next append to this partition will get (high watermark). */
  highWatermark: number;
  /**
   * The same messages as the log holds them, when the bus hands them over so (the embedded log): offsets and byte
   * ranges in the buffers read from disk, no object per message. The hot path (landing) reads this when present.
   */
  readonly records?: RecordRun;
}

/**
 * A partition's messages as read from the log: message i's offset, timestamp, key, headers and value, each asked
 * for when needed. Value bytes are `chunk(i)[valueStart(i), valueEnd(i))`.
 */
export interface RecordRun {
  readonly length: number;
  offset(i: number): number;
  /** The buffer holding message i's bytes. */
  chunk(i: number): Buffer;
  valueStart(i: number): number;
  valueEnd(i: number): number;
  /** Message i's value (a view into its chunk). */
  value(i: number): Buffer;
  /** Message i's headers, decoded (NO_HEADERS when it has none). */
  headers(i: number): MessageHeaders;
  /** Whether messages i and j carry the same headers, byte for byte (cheaper than decoding both). */
  sameHeaders(i: number, j: number): boolean;
  /** Message i as an object, as `messages` holds it. */
  message(i: number): BusMessage;
  /**
   * Says the caller is done with the messages' bytes (it keeps no view of them), so the bus may read into their
   * buffers again; offsets stay readable. Optional: a run whose bytes are never reused has nothing to do.
   */
  release?(): void;
}

export interface TopicOffset extends TopicPartition {
  /** The next offset to read (Kafka convention). */
  offset: number;
}

export interface TopicSpec {
  partitions: number;
  /** Delete whole segments older than this (only below every group's committed offset); 0 = keep forever. */
  retentionMs?: number;
  /** Delete oldest segments while the partition is larger than this (same rule); 0 = no size limit. */
  retentionBytes?: number;
}

export interface BusProducer {
  /**
   * Appends the messages. Resolves only when they are durable under the bus's policy, so a source may be
   * acknowledged as soon as this resolves. May wait (backpressure) while consumers are too far behind.
   */
  send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]>;
  close(): Promise<void>;
}

export interface PollOptions {
  maxMessages: number;
  /** How long to wait for at least one message before resolving with nothing. */
  maxWaitMs: number;
}

export interface BusConsumer {
  readonly groupId: string;
  subscribe(topics: string[]): Promise<void>;
  /** Partitions this member currently owns. */
  assignment(): TopicPartition[];
  /** Committed offset of the group for a partition (0 when nothing was committed). */
  committed(tp: TopicPartition): Promise<number>;
  /** Next messages from the owned partitions, starting at the committed offset or the last seek/poll position. */
  poll(options: PollOptions): Promise<PartitionBatch[]>;
  /**
   * The next offset this member will read from an owned partition, when known. Past a gap in the offsets (a
   * repaired log) it is ahead of the last message returned.
   */
  position?(tp: TopicPartition): number | undefined;
  /** Moves this member's read position; does not commit. */
  seek(offset: TopicOffset): void;
  /** Durably records the group's offsets (next offset to read). */
  commit(offsets: TopicOffset[]): Promise<void>;
  close(): Promise<void>;
}

export interface Bus {
  /**
   * Stable random id of this bus, made when its storage was created and kept across restarts. Offsets restart at 0
   * in a new bus, so a lake written from one bus must never confuse its files with those of another: whatever names
   * or records data by (topic, partition, offset) records the generation beside it.
   */
  readonly generation: string;
  /** Creates the topic if missing; an existing topic keeps its partition count. */
  ensureTopic(topic: string, spec: TopicSpec): Promise<void>;
  producer(): BusProducer;
  consumer(options: { groupId: string }): BusConsumer;
  /**
   * Reads a partition outside any group (no commit, no assignment): what recovery and tools use to look at what is
   * there. Starts at `offset` (clamped to the low watermark) and returns at most `maxMessages`; `nextOffset` is where
   * to read on (equal to the high watermark once everything was read).
   */
  read(
    tp: TopicPartition,
    offset: number,
    maxMessages: number,
  ): Promise<{ messages: BusMessage[]; nextOffset: number }>;
  /** Per-partition end offsets and, per group, committed offsets: for lag, status and tests. */
  describe(topic: string): Promise<{ partition: number; highWatermark: number; lowWatermark: number }[]>;
  close(): Promise<void>;
}
