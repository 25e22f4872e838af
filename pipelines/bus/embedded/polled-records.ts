/**
 * What a consumer hands over for one partition per poll: the records it read, as offsets and byte ranges into the
 * buffers read from the segment files (RecordRun), so landing reads a message's value and headers without an
 * object per message. `messages` builds the objects on demand for code that wants them.
 */
import type { BufferPool } from '../../buffer-pool.js';
import type { MessageHeaders } from '../headers.js';
import type { BusMessage, PartitionBatch, RecordRun } from '../types.js';
import { decodeHeaders, type FrameView, newFrameView, recordTimestamp, revisitRecord } from './frame.js';
import { readUtf8 } from './utf8.js';

export class PolledRecords implements RecordRun {
  length = 0;
  private readonly chunks: Buffer[] = [];
  // Three numbers per record, in plain arrays; the rest is read again from the record's header when asked. One
  // array per field (nine) made the garbage collector run full collections: 28% of a read's time, against 4%.
  private readonly chunkOf: number[] = [];
  private readonly offsets: number[] = [];
  /** Where each record is in its chunk, as revisitRecord takes it. */
  private readonly records: number[] = [];
  // The views of the last two records read (sameHeaders compares a record with the one before it; reading one view
  // at a time parsed each record's header three times).
  private view: FrameView = newFrameView();
  private viewing = -1;
  private previousView: FrameView = newFrameView();
  private previousViewing = -1;

  private released = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Where the buffers these records are read into come from, and go back to on release(). */
    readonly pool?: BufferPool,
  ) {}

  /**
   * Hands the buffers read back to the pool, for later reads: the caller keeps no view of a value, key or header.
   * Offsets stay readable; reading bytes after this throws (a value would silently be another record's).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.pool) for (const chunk of this.chunks) this.pool.give(chunk);
    this.chunks.length = 0;
  }

  /** Adds the record `view` points at, in `chunk` (the buffer parseFrame read), at `offset`. */
  push(chunk: Buffer, offset: number, view: FrameView): void {
    let c = this.chunks.length - 1;
    if (c < 0 || this.chunks[c] !== chunk) {
      this.chunks.push(chunk);
      c++;
    }
    this.chunkOf.push(c);
    this.offsets.push(offset);
    this.records.push(view.record);
    this.length++;
  }

  offset(i: number): number {
    return this.offsets[i]!;
  }

  chunk(i: number): Buffer {
    if (this.released)
      throw new Error(`record ${i} of ${this.topic}/${this.partition} read after its buffers were released`);
    return this.chunks[this.chunkOf[i]!]!;
  }

  valueStart(i: number): number {
    return this.at(i).valueStart;
  }

  valueEnd(i: number): number {
    return this.at(i).end;
  }

  value(i: number): Buffer {
    const view = this.at(i);
    return this.chunk(i).subarray(view.valueStart, view.end);
  }

  headers(i: number): MessageHeaders {
    const view = this.at(i);
    return decodeHeaders(this.chunk(i), view.headersStart, view.headersEnd);
  }

  sameHeaders(i: number, j: number): boolean {
    const a = this.at(i);
    const iStart = a.headersStart;
    const length = a.headersEnd - iStart;
    const b = this.at(j);
    const jStart = b.headersStart;
    if (iStart < 0 || jStart < 0) return iStart < 0 && jStart < 0;
    if (b.headersEnd - jStart !== length) return false;
    const x = this.chunk(i);
    const y = this.chunk(j);
    for (let k = 0; k < length; k++) if (x[iStart + k] !== y[jStart + k]) return false;
    return true;
  }

  message(i: number): BusMessage {
    const chunk = this.chunk(i);
    const view = this.at(i);
    const keyLength = view.keyLength;
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offsets[i]!,
      key: keyLength < 0 ? null : readUtf8(chunk, view.keyStart, view.keyStart + keyLength),
      value: chunk.subarray(view.valueStart, view.end),
      timestamp: recordTimestamp(chunk, this.records[i]!),
      headers: decodeHeaders(chunk, view.headersStart, view.headersEnd),
    };
  }

  /** Every record as an object. */
  messages(): BusMessage[] {
    const out = new Array<BusMessage>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.message(i);
    return out;
  }

  /**
   * The view at record i, valid until two other records are read (the fields of older ones are gone): the view
   * returned last is never the one the next read writes into.
   */
  private at(i: number): FrameView {
    if (this.viewing === i) return this.view;
    const view = this.previousView;
    if (this.previousViewing !== i) revisitRecord(this.chunk(i), this.records[i]!, view);
    this.previousView = this.view;
    this.previousViewing = this.viewing;
    this.view = view;
    this.viewing = i;
    return view;
  }
}

/**
 * A poll's batch of one partition: `records` as read, and `messages` built from them on first use (an own
 * enumerable getter, so comparing batches compares their messages; `records` is not enumerable).
 */
export function polledBatch(records: PolledRecords, highWatermark: number): PartitionBatch {
  let messages: BusMessage[] | undefined;
  const batch = {
    topic: records.topic,
    partition: records.partition,
    get messages(): BusMessage[] {
      messages ??= records.messages();
      return messages;
    },
    highWatermark,
  };
  Object.defineProperty(batch, 'records', { value: records, enumerable: false });
  return batch as PartitionBatch;
}
