/**
 * The broker's in-memory log: topics, their partitions, and per partition the record batches exactly as producers
 * sent them, with broker-assigned base offsets. No retention, compaction or transactions: the log start offset stays
 * at 0 and the last stable offset equals the high watermark.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode } from './api.js';
import { ProducerSequences } from './idempotence.js';
import { type RecordBatchHeader, setBaseOffset } from './record-batch.js';

export interface AppendResult {
  errorCode: number;
  /** The first offset of what was appended (or of the original, for a duplicate); -1 on error. */
  baseOffset: bigint;
}

export interface ReadResult {
  batches: Buffer[];
  bytes: number;
}

interface StoredBatch {
  baseOffset: bigint;
  /** The offset after this batch's last record. */
  nextOffset: bigint;
  maxTimestamp: bigint;
  bytes: Buffer;
}

export class PartitionLog {
  readonly logStartOffset = 0n;
  private readonly batches: StoredBatch[] = [];
  private readonly sequences = new ProducerSequences();
  private nextOffset = 0n;

  constructor(private readonly onAppend: () => void) {}

  get highWatermark(): bigint {
    return this.nextOffset;
  }

  /** Appends a produce request's batches for this partition; stops at the first one the producer checks refuse. */
  append(batches: RecordBatchHeader[]): AppendResult {
    let first: bigint | undefined;
    for (const batch of batches) {
      const check = this.sequences.check(batch);
      if (check.kind === 'reject') return { errorCode: check.errorCode, baseOffset: -1n };
      if (check.kind === 'duplicate') {
        first ??= check.baseOffset;
        continue;
      }
      const baseOffset = this.nextOffset;
      setBaseOffset(batch, baseOffset);
      this.nextOffset = baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
      this.batches.push({
        baseOffset,
        nextOffset: this.nextOffset,
        maxTimestamp: batch.maxTimestamp,
        bytes: batch.bytes,
      });
      this.sequences.appended(batch, baseOffset);
      first ??= baseOffset;
    }
    if (first !== undefined && first >= 0n) this.onAppend();
    return { errorCode: ErrorCode.NONE, baseOffset: first ?? -1n };
  }

  /**
   * Whole batches from the one holding `fetchOffset`, up to `maxBytes`. As Kafka does (KIP-74), the first batch is
   * returned even when larger than `maxBytes` if `allowOversizedFirst`, so a consumer can always make progress.
   */
  read(fetchOffset: bigint, maxBytes: number, allowOversizedFirst: boolean): ReadResult {
    const result: ReadResult = { batches: [], bytes: 0 };
    for (let i = this.indexOfBatchHolding(fetchOffset); i < this.batches.length; i++) {
      const batch = this.batches[i] as StoredBatch;
      const fits = result.bytes + batch.bytes.length <= maxBytes;
      if (!fits && !(allowOversizedFirst && result.batches.length === 0)) break;
      result.batches.push(batch.bytes);
      result.bytes += batch.bytes.length;
    }
    return result;
  }

  /** The base offset of the first batch whose newest record is at or after `timestamp` (batch granularity). */
  offsetForTimestamp(timestamp: bigint): { offset: bigint; timestamp: bigint } | undefined {
    const batch = this.batches.find((b) => b.maxTimestamp >= timestamp);
    return batch === undefined ? undefined : { offset: batch.baseOffset, timestamp: batch.maxTimestamp };
  }

  private indexOfBatchHolding(offset: bigint): number {
    let low = 0;
    let high = this.batches.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.batches[mid] as StoredBatch).nextOffset <= offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

export interface Topic {
  name: string;
  partitions: PartitionLog[];
  /** Config entries given at creation (e.g. retention.ms): kept and reported, not enforced. */
  configs: Map<string, string | null>;
}

export class TopicStore {
  /** Emits `append` whenever any partition grows, so waiting fetches wake up instead of polling. */
  readonly events = new EventEmitter().setMaxListeners(0);
  private readonly topics = new Map<string, Topic>();
  private readonly notifyAppend = () => this.events.emit('append');

  create(name: string, partitionCount: number, configs: Map<string, string | null> = new Map()): Topic {
    const partitions = Array.from({ length: partitionCount }, () => new PartitionLog(this.notifyAppend));
    const topic: Topic = { name, partitions, configs };
    this.topics.set(name, topic);
    return topic;
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.topics.get(topic)?.partitions[partition];
  }

  all(): Topic[] {
    return [...this.topics.values()];
  }
}
