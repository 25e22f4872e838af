/**
 * One partition: its ordered segments, the append queue that turns concurrent sends into few large writes, the
 * high watermark consumers may read up to, and reads that seek through the sparse index.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { isRetriable } from '../../retry.js';
import { EmbeddedLogCorruptError, EmbeddedPartitionFailedError, EmbeddedWriteFailedError } from './errors.js';
import { FRAME_OVERHEAD_BYTES, INCOMPLETE, newFrameView, nextRecord, parseFrame, sealFrames } from './frame.js';
import { fsyncDir, isErrno } from './fs-util.js';
import { appendFloor, gapCovers, readGaps } from './gaps.js';
import { INDEX_INTERVAL_BYTES } from './offset-index.js';
import type { PolledRecords } from './polled-records.js';
import { parseSegmentFileName, Segment, type SegmentIo, segmentFileName, type TruncatedTail } from './segment.js';
import type { SyncScheduler } from './sync-scheduler.js';

export type FsyncPolicy = 'always' | 'never';

export interface PartitionOptions {
  fsync: FsyncPolicy;
  segmentBytes: number;
  sync: SyncScheduler;
  io: SegmentIo;
  onTruncate: (tail: TruncatedTail) => void;
}

/** Frames encoded by the producer, offsets and CRCs still blank (the partition numbers them on append). */
export interface EncodedBatch {
  buffer: Buffer;
  count: number;
  maxTimestamp: number;
}

interface PendingWrite {
  /** The partition's epoch when it was queued: a rollback since then already refused it. */
  epoch: number;
  segment: Segment;
  buffer: Buffer;
  position: number;
  endOffset: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A read never starts smaller than this: small reads cost a syscall each for little data. */
const MIN_READ_BYTES = 64 * 1024;
/** writev takes at most IOV_MAX (1024 on Linux) buffers. */
const MAX_BUFFERS_PER_WRITE = 512;
/** Sealed segments keep their descriptors open for re-reads; past this many the least recently used close. */
const MAX_OPEN_SEALED_SEGMENTS = 4;

export class Partition {
  /** Offsets below this are readable: written and, with fsync 'always', on stable storage. */
  highWatermark: number;

  private readonly queue: PendingWrite[] = [];
  private writing = false;
  /** Segment the write loop wrote last; differs from the active one right after a roll. */
  private writeSegment: Segment;
  private failure: EmbeddedPartitionFailedError | null = null;
  /** Appends not yet published nor refused: queued, being written or waiting for their fsync. */
  private readonly unsettled = new Set<PendingWrite>();
  /** Bumped by every rollback: outcomes of writes from an earlier epoch are ignored (they were refused). */
  private epoch = 0;
  /** Segments whose file must be cut back (to the size given) before the next write: refused bytes. */
  private readonly tailsToCut = new Map<Segment, number>();
  /** A rollback unlinked segment files: their folder needs an fsync before the next write. */
  private folderChanged = false;
  /** Cutting failed: try again with the next append, not in a loop. */
  private cutStalled = false;
  private draining: Promise<void> | null = null;
  private drainWaiters: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly openSealed = new Set<Segment>();
  /** Running average bytes per record, to size reads so one read usually covers a poll. */
  private avgRecordBytes: number;

  private constructor(
    readonly topic: string,
    readonly id: number,
    readonly dir: string,
    private readonly options: PartitionOptions,
    readonly segments: Segment[],
  ) {
    const active = segments[segments.length - 1]!;
    this.writeSegment = active;
    this.highWatermark = active.nextOffset;
    let bytes = 0;
    let count = 0;
    for (const segment of segments) {
      bytes += segment.size;
      count += segment.count;
    }
    this.avgRecordBytes = count > 0 ? bytes / count : 256;
  }

  /** Opens (recovering) or creates the partition folder. */
  static async open(topic: string, id: number, dir: string, options: PartitionOptions): Promise<Partition> {
    await fs.promises.mkdir(dir, { recursive: true });
    const bases = (await fs.promises.readdir(dir))
      .map(parseSegmentFileName)
      .filter((base): base is number => base !== undefined)
      .sort((a, b) => a - b);
    // A roll creates the next segment file when a batch is queued, before the previous segment's queued writes
    // reach their file (they do first: see sealWriteSegment). A crash in between leaves empty trailing segments
    // based past where the previous one really ends. They hold nothing, acknowledged or not: drop them.
    let droppedEmpty = false;
    while (bases.length > 1) {
      const last = join(dir, segmentFileName(bases[bases.length - 1]!));
      if ((await fs.promises.stat(last)).size !== 0) break;
      await fs.promises.rm(last);
      bases.pop();
      droppedEmpty = true;
    }
    if (droppedEmpty && options.fsync === 'always') await fsyncDir(dir);
    const gaps = await readGaps(dir);
    const segments: Segment[] = [];
    try {
      if (bases.length === 0) {
        segments.push(Segment.createSync(dir, 0, 0, options.io));
        if (options.fsync === 'always') await fsyncDir(dir);
      }
      let startBytes = 0;
      for (let i = 0; i < bases.length; i++) {
        const base = bases[i]!;
        const previous = segments[i - 1];
        const file = join(dir, segmentFileName(base));
        if (previous && previous.nextOffset !== base && !gapCovers(gaps, previous.nextOffset, base)) {
          throw new EmbeddedLogCorruptError(
            file,
            0,
            `segment starts at offset ${base} but the previous one ends at ${previous.nextOffset}`,
          );
        }
        const isLast = i === bases.length - 1;
        const segment = await Segment.recover(file, base, startBytes, isLast, options.io, options.onTruncate);
        segments.push(segment);
        startBytes += segment.size;
      }
      // A repair moved offsets aside: append past them, in a segment of their own (segments hold dense offsets).
      const floor = appendFloor(gaps);
      const last = segments[segments.length - 1]!;
      if (last.nextOffset < floor) {
        last.sealed = true;
        segments.push(Segment.createSync(dir, floor, startBytes, options.io));
        if (options.fsync === 'always') await fsyncDir(dir);
      }
      // Recovery opened every segment; keep only the active one's descriptor, the rest reopen on demand.
      for (const segment of segments) if (segment.sealed) await segment.closeIfIdle();
    } catch (err) {
      for (const segment of segments) await segment.close().catch(() => undefined);
      throw err;
    }
    return new Partition(topic, id, dir, options, segments);
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get lowWatermark(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Offset the next append gets (ahead of highWatermark while writes are in flight). */
  get nextOffset(): number {
    return this.active.nextOffset;
  }

  /** Logical byte position after the last appended frame. */
  get endBytes(): number {
    return this.active.startBytes + this.active.size;
  }

  /** Bytes on disk (retained segments). */
  get sizeBytes(): number {
    return this.endBytes - this.segments[0]!.startBytes;
  }

  /** Logical byte position of `offset`, exact to within one index interval: enough to measure lag. */
  bytePosition(offset: number): number {
    if (offset <= this.lowWatermark) return this.segments[0]!.startBytes;
    if (offset >= this.nextOffset) return this.endBytes;
    const segment = this.segmentFor(offset);
    return segment.startBytes + segment.index.floor(offset)[1];
  }

  /**
   * Numbers the batch and queues it. Synchronous up to the returned promise, so offsets follow call order;
   * `done` resolves once the batch is readable (written, and synced with fsync 'always').
   */
  append(batch: EncodedBatch): { baseOffset: number; done: Promise<void> } {
    if (this.failure) throw this.failure;
    let segment = this.active;
    // A rollback may leave a sealed segment last (its refused tail was cut): appends go to a new one.
    if (segment.sealed || (segment.size > 0 && segment.size + batch.buffer.length > this.options.segmentBytes)) {
      segment = this.roll();
    }
    const baseOffset = segment.nextOffset;
    const position = segment.size;
    sealFrames(batch.buffer, baseOffset);
    segment.index.offerBatch(batch.buffer, baseOffset, position);
    segment.size += batch.buffer.length;
    segment.nextOffset += batch.count;
    if (batch.maxTimestamp > segment.maxTimestamp) segment.maxTimestamp = batch.maxTimestamp;
    this.avgRecordBytes = this.avgRecordBytes * 0.9 + (batch.buffer.length / batch.count) * 0.1;
    const done = new Promise<void>((resolve, reject) => {
      const write: PendingWrite = {
        epoch: this.epoch,
        segment,
        buffer: batch.buffer,
        position,
        endOffset: segment.nextOffset,
        resolve,
        reject,
      };
      this.queue.push(write);
      this.unsettled.add(write);
    });
    this.pump();
    return { baseOffset, done };
  }

  /**
   * Appends the records from `offset` (which must be within [lowWatermark, highWatermark]) to `out`, at most
   * `maxMessages` and about `maxBytes` of log. Returns the offset after the last record read. Stays within one
   * segment; the caller asks again for more. One CRC check per frame: a batch frame's records come with it.
   */
  async read(offset: number, maxMessages: number, maxBytes: number, out: PolledRecords): Promise<number> {
    const highWatermark = this.highWatermark;
    if (offset >= highWatermark || maxMessages <= 0) return offset;
    const segment = this.segmentFor(offset);
    if (offset >= segment.nextOffset) {
      // In a gap a repair left (see gaps.ts): those offsets are gone, continue at the next one that exists.
      const next = this.segments[this.segments.indexOf(segment) + 1];
      return next ? next.baseOffset : offset;
    }
    const stopAt = Math.min(highWatermark, segment.nextOffset);
    let [expected, position] = segment.index.floor(offset);
    const view = newFrameView();
    let collected = 0;
    let bytesRead = 0;
    let minLength = 0;
    // maxBytes bounds a read that already has messages; a single message larger than it is still read whole (like
    // Kafka's fetch.max.bytes), or a partition holding one would stall at it forever.
    reading: while (expected < stopAt && collected < maxMessages && (bytesRead < maxBytes || collected === 0)) {
      const available = segment.visibleSize - position;
      if (available < FRAME_OVERHEAD_BYTES) {
        throw new EmbeddedLogCorruptError(segment.file, position, `offset ${expected} lies past the readable end`);
      }
      const estimate = (offset - expected + maxMessages - collected) * this.avgRecordBytes + INDEX_INTERVAL_BYTES;
      const length = Math.min(available, Math.max(MIN_READ_BYTES, minLength, Math.min(estimate, maxBytes)));
      let buf: Buffer;
      try {
        buf = await segment.read(position, length, out.pool);
      } catch (err) {
        // Retention deleted the segment under a reader that was behind every committed offset: nothing to return.
        if (isErrno(err, 'ENOENT') && !this.segments.includes(segment)) return offset;
        throw err;
      }
      if (segment.sealed) this.noteSealedRead(segment);
      bytesRead += buf.length;
      let at = 0;
      minLength = 0;
      while (expected < stopAt && collected < maxMessages && at < buf.length) {
        const status = parseFrame(buf, at, buf.length, view, true);
        if (status === INCOMPLETE && buf.length < available) {
          // The chunk ends inside this frame: the next read starts at it and is at least as long.
          minLength = view.size;
          break;
        }
        if (status !== undefined) throw new EmbeddedLogCorruptError(segment.file, position + at, status);
        if (view.offset !== expected) {
          throw new EmbeddedLogCorruptError(
            segment.file,
            position + at,
            `offset ${view.offset} where ${expected} was expected`,
          );
        }
        const frameEnd = expected + view.count;
        if (frameEnd <= offset) {
          // Wholly before the offset asked for (the index points at most one interval back).
          expected = frameEnd;
          at += view.size;
          continue;
        }
        for (; expected < frameEnd; expected++) {
          if (view.batch) {
            const bad = nextRecord(buf, view);
            if (bad !== undefined) {
              throw new EmbeddedLogCorruptError(segment.file, position + at, `record at offset ${expected}: ${bad}`);
            }
          }
          if (expected < offset) continue;
          if (collected === maxMessages) break reading;
          out.push(buf, expected, view);
          collected++;
        }
        at += view.size;
      }
      position += at;
    }
    // Stopped inside a batch (maxMessages): the next read starts at its index entry and skips what was returned.
    return collected > 0 ? expected : offset;
  }

  /** Calls `listener` (once per registration round) when the high watermark advances. */
  onData(listener: () => void): void {
    this.listeners.add(listener);
  }

  offData(listener: () => void): void {
    this.listeners.delete(listener);
  }

  /** Sealed segments from the oldest on, as retention sees them (the active one is never a candidate). */
  sealedSegments(): Segment[] {
    const sealed: Segment[] = [];
    for (const segment of this.segments) {
      if (!segment.sealed || segment === this.active) break;
      sealed.push(segment);
    }
    return sealed;
  }

  /** Drops the `count` oldest segments (retention). lowWatermark moves before the files go. */
  async deleteOldest(count: number): Promise<void> {
    const doomed = this.segments.splice(0, Math.min(count, this.segments.length - 1));
    for (const segment of doomed) {
      this.openSealed.delete(segment);
      await segment.delete();
    }
  }

  /**
   * Waits for every queued append to be readable (or refused) and refused bytes to be cut from the files (so a
   * reopen cannot bring them back), then syncs the unsealed segments.
   */
  async flush(): Promise<void> {
    if (this.unsettled.size > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.tailsToCut.size > 0) {
      this.cutStalled = false;
      this.pump();
    }
    if (this.draining) await this.draining;
    if (this.failure) return;
    for (const segment of this.segments) if (!segment.sealed) await segment.sync();
  }

  async close(): Promise<void> {
    await this.flush();
    for (const segment of this.segments) await segment.close();
    this.openSealed.clear();
  }

  private segmentFor(offset: number): Segment {
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return segments[lo]!;
  }

  /** Starts a new segment at the next offset. Its first write waits until the old one is synced (see drain). */
  private roll(): Segment {
    const previous = this.active;
    let segment: Segment;
    try {
      segment = Segment.createSync(this.dir, previous.nextOffset, previous.startBytes + previous.size, this.options.io);
    } catch (err) {
      // No inode or no folder space for the next segment: the same transient refusal as a failed write.
      if (isRetriable(err)) throw new EmbeddedWriteFailedError(this.topic, this.id, this.dir, err);
      throw err;
    }
    this.segments.push(segment);
    return segment;
  }

  private pump(): void {
    if (this.writing || this.failure) return;
    if (this.queue.length === 0 && (this.tailsToCut.size === 0 || this.cutStalled)) return;
    this.writing = true;
    this.draining = this.drain().finally(() => {
      this.writing = false;
      this.draining = null;
      this.pump();
    });
  }

  /**
   * Cuts refused bytes off the files, then writes queued batches in order, as many per writev as belong to the
   * same segment.
   */
  private async drain(): Promise<void> {
    while (!this.failure && (this.queue.length > 0 || (this.tailsToCut.size > 0 && !this.cutStalled))) {
      if (this.tailsToCut.size > 0) {
        if (!(await this.cutRefusedTails())) return;
        continue;
      }
      const segment = this.queue[0]!.segment;
      const epoch = this.epoch;
      let n = 1;
      while (n < this.queue.length && n < MAX_BUFFERS_PER_WRITE && this.queue[n]!.segment === segment) n++;
      const writes = this.queue.splice(0, n);
      try {
        if (segment !== this.writeSegment) await this.sealWriteSegment(segment);
        await segment.write(
          writes.map((w) => w.buffer),
          writes[0]!.position,
        );
      } catch (err) {
        // A rollback meanwhile (an earlier batch's fsync failed) already refused these writes.
        if (epoch === this.epoch) this.writeFailed(err, segment);
        continue;
      }
      if (epoch !== this.epoch) continue;
      if (this.options.fsync === 'never') {
        this.publish(segment, writes);
      } else {
        this.options.sync.request(segment).then(
          () => {
            if (epoch === this.epoch) this.publish(segment, writes);
          },
          (err: unknown) => {
            if (epoch === this.epoch) this.writeFailed(err, segment);
          },
        );
      }
    }
  }

  /**
   * A write or fsync failed. A failure the disk can recover from (full, over quota, I/O error) refuses the
   * unpublished appends and rolls back; anything else takes the partition offline.
   */
  private writeFailed(err: unknown, segment: Segment): void {
    if (isRetriable(err)) this.rollBack(new EmbeddedWriteFailedError(this.topic, this.id, segment.file, err));
    else this.fail(err, segment);
  }

  /**
   * Returns the partition to what is published (written, and synced with fsync 'always'): refuses every unsettled
   * append, forgets their offsets and bytes (the next appends reuse those offsets: no consumer ever saw them),
   * unlinks segments that hold only refused appends, and leaves the file cut for the write loop, which does it
   * before its next write. A failed fsync is never retried on the same bytes (the kernel may have dropped them and
   * would report the next fsync as a success): they are cut off and sent again as new writes.
   */
  private rollBack(error: EmbeddedWriteFailedError): void {
    this.epoch++;
    this.queue.length = 0;
    const refused = [...this.unsettled];
    this.unsettled.clear();
    const keep = this.segmentFor(this.highWatermark);
    const keepAt = this.segments.indexOf(keep);
    try {
      for (const doomed of this.segments.splice(keepAt + 1)) {
        this.openSealed.delete(doomed);
        doomed.discardSync();
        this.folderChanged = true;
      }
    } catch (err) {
      this.fail(err, keep);
    }
    if (keep.size > keep.visibleSize) {
      this.tailsToCut.set(keep, Math.min(this.tailsToCut.get(keep) ?? Infinity, keep.visibleSize));
    }
    keep.rollBack(keep.visibleSize, this.highWatermark);
    // keep stays sealed if the write loop had moved past it; append() then rolls to a new segment.
    if (!this.segments.includes(this.writeSegment)) this.writeSegment = keep;
    for (const write of refused) write.reject(error);
    this.settled();
    this.pump();
  }

  /** Cuts refused bytes; on failure refuses what was queued meanwhile and waits for the next append to try again. */
  private async cutRefusedTails(): Promise<boolean> {
    const [segment, size] = this.tailsToCut.entries().next().value!;
    try {
      if (this.folderChanged && this.options.fsync === 'always') await fsyncDir(this.dir);
      this.folderChanged = false;
      await segment.cutTail(size);
    } catch (err) {
      this.cutStalled = true;
      this.writeFailed(err, segment);
      return false;
    }
    if (this.tailsToCut.get(segment) === size) this.tailsToCut.delete(segment);
    this.cutStalled = false;
    return true;
  }

  /**
   * Before the first write into a new segment, the previous one is synced and the new file's name made durable:
   * a non-last segment is then never torn, so damage to one can be reported instead of truncated.
   */
  private async sealWriteSegment(next: Segment): Promise<void> {
    const previous = this.writeSegment;
    if (this.options.fsync === 'always') {
      await previous.sync();
      await fsyncDir(this.dir);
    }
    previous.sealed = true;
    this.writeSegment = next;
  }

  /** Only called for writes of the current epoch: a rollback or failure since then already refused them. */
  private publish(segment: Segment, writes: PendingWrite[]): void {
    const last = writes[writes.length - 1]!;
    const end = last.position + last.buffer.length;
    if (end > segment.visibleSize) segment.visibleSize = end;
    if (last.endOffset > this.highWatermark) this.highWatermark = last.endOffset;
    for (const write of writes) {
      this.unsettled.delete(write);
      write.resolve();
    }
    this.settled();
    for (const listener of this.listeners) listener();
  }

  private fail(err: unknown, segment: Segment): void {
    this.failure ??= new EmbeddedPartitionFailedError(this.topic, this.id, segment.file, err);
    // A later fsync may "succeed" after an earlier one failed (the kernel dropped the dirty pages): never trust it.
    this.epoch++;
    this.queue.length = 0;
    for (const write of this.unsettled) write.reject(this.failure);
    this.unsettled.clear();
    this.settled();
  }

  private settled(): void {
    if (this.unsettled.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private noteSealedRead(segment: Segment): void {
    this.openSealed.add(segment);
    if (this.openSealed.size <= MAX_OPEN_SEALED_SEGMENTS) return;
    let oldest: Segment | undefined;
    for (const candidate of this.openSealed) {
      if (candidate.idle && (!oldest || candidate.lastUsed < oldest.lastUsed)) oldest = candidate;
    }
    if (!oldest) return;
    this.openSealed.delete(oldest);
    void oldest.closeIfIdle().catch(() => undefined);
  }
}
