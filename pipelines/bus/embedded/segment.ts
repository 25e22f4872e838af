/**
 * One segment file: a run of frames (see frame.ts) starting at `baseOffset`. Knows its sizes, its sparse index and
 * its file descriptor; the partition decides when to roll, write, sync and delete.
 */

import fs from 'node:fs';
import { basename, join } from 'node:path';
import type { BufferPool } from '../../buffer-pool.js';
import { EmbeddedLogCorruptError } from './errors.js';
import { findSoundFrame, scanSegment } from './frame-scan.js';
import { closeFd, fdatasync, isErrno, readFullyAt, writevAllAt } from './fs-util.js';
import { OffsetIndex } from './offset-index.js';

/**
 * The file operations of appends. Replaceable (EmbeddedBusOptions.io) so tests can give the log a full disk or a
 * failing fsync without a real one.
 */
export interface SegmentIo {
  writev(fd: number, buffers: Buffer[], position: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
}

export const fsSegmentIo: SegmentIo = { writev: writevAllAt, fdatasync };

const SEGMENT_FILE = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** Base offset encoded in a segment file name, or undefined for any other file. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_FILE.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** What recovery cut off the end of a last segment. */
export interface TruncatedTail {
  file: string;
  position: number;
  droppedBytes: number;
  reason: string;
}

let useClock = 0;

export class Segment {
  /** Bytes appended or queued for append: where the next batch goes. */
  size: number;
  /** Bytes consumers may read: written and, with fsync 'always', synced. */
  visibleSize: number;
  /** Offset after the last frame appended or queued. */
  nextOffset: number;
  /** Newest record timestamp, for time-based retention (-Infinity when empty). */
  maxTimestamp: number;
  /** No more appends go here; its descriptor may be closed while idle. */
  sealed = false;
  /** Last time a reader or writer used the descriptor, to close the least recently used sealed ones. */
  lastUsed = 0;

  private fd: number | null;
  private opening: Promise<number> | null = null;
  private refs = 0;
  private deleted = false;

  private constructor(
    readonly file: string,
    readonly baseOffset: number,
    /** Logical byte position of this segment's first byte within its partition, for lag in bytes. */
    readonly startBytes: number,
    readonly index: OffsetIndex,
    private readonly io: SegmentIo,
    fd: number | null,
    size: number,
    nextOffset: number,
    maxTimestamp: number,
  ) {
    this.fd = fd;
    this.size = size;
    this.visibleSize = size;
    this.nextOffset = nextOffset;
    this.maxTimestamp = maxTimestamp;
  }

  /** Creates an empty segment. Synchronous because rolling happens inside an append, which must not yield. */
  static createSync(dir: string, baseOffset: number, startBytes: number, io: SegmentIo): Segment {
    const file = join(dir, segmentFileName(baseOffset));
    const fd = fs.openSync(file, 'wx+');
    return new Segment(file, baseOffset, startBytes, new OffsetIndex(baseOffset), io, fd, 0, baseOffset, -Infinity);
  }

  /**
   * Opens an existing segment and verifies every frame. A bad or torn frame in the last segment with nothing sound
   * after it is where a crash stopped a write: the file is truncated there and `onTruncate` told. A bad frame
   * followed by a sound one, or any bad frame in an earlier segment, is damage: acknowledged records may sit on
   * both sides of it and truncating would drop them and hand their offsets out again, so EmbeddedLogCorruptError
   * is thrown and the file is left as it is (`cityhub bus repair` moves the damage aside).
   */
  static async recover(
    file: string,
    baseOffset: number,
    startBytes: number,
    isLast: boolean,
    io: SegmentIo,
    onTruncate: (tail: TruncatedTail) => void,
  ): Promise<Segment> {
    const fd = fs.openSync(file, isLast ? 'r+' : 'r');
    try {
      const fileSize = fs.fstatSync(fd).size;
      const index = new OffsetIndex(baseOffset);
      const scan = await scanSegment(fd, fileSize, baseOffset, (offset, position) => index.offer(offset, position));
      const expected = scan.nextOffset;
      const bad = scan.bad;
      let size = fileSize;
      if (bad !== undefined) {
        const position = scan.end;
        if (!isLast) throw new EmbeddedLogCorruptError(file, position, bad);
        const sound = await findSoundFrame(fd, position + 1, fileSize, expected);
        if (sound) {
          throw new EmbeddedLogCorruptError(
            file,
            position,
            `${bad}; a sound frame (offset ${sound.offset}) follows at byte ${sound.position}, so this is damage, not a torn tail`,
          );
        }
        fs.ftruncateSync(fd, position);
        fs.fdatasyncSync(fd);
        onTruncate({ file, position, droppedBytes: fileSize - position, reason: bad });
        size = position;
      }
      const segment = new Segment(file, baseOffset, startBytes, index, io, fd, size, expected, scan.maxTimestamp);
      segment.sealed = !isLast;
      return segment;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get name(): string {
    return basename(this.file);
  }

  /** Offsets held (or queued) here. */
  get count(): number {
    return this.nextOffset - this.baseOffset;
  }

  async write(buffers: Buffer[], position: number): Promise<void> {
    const fd = await this.acquire();
    try {
      await this.io.writev(fd, buffers, position);
    } finally {
      this.release();
    }
  }

  async sync(): Promise<void> {
    const fd = await this.acquire();
    try {
      await this.io.fdatasync(fd);
    } finally {
      this.release();
    }
  }

  /** Reads up to `length` bytes at `position` into a fresh buffer (messages keep views into it). */
  /** `pool`: where the buffer read into comes from (its owner hands it back once no view of it is left). */
  async read(position: number, length: number, pool?: BufferPool): Promise<Buffer> {
    const fd = await this.acquire();
    try {
      const target = pool ? pool.take(length) : Buffer.allocUnsafe(length);
      const n = await readFullyAt(fd, target, length, position);
      return n === target.length ? target : target.subarray(0, n);
    } finally {
      this.release();
    }
  }

  get hasOpenFd(): boolean {
    return this.fd !== null;
  }

  get idle(): boolean {
    return this.refs === 0;
  }

  /** Closes the descriptor if nobody uses it; the next use reopens it. */
  async closeIfIdle(): Promise<void> {
    if (this.refs > 0 || this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    await closeFd(fd);
  }

  /** Unlinks the file now (readers holding the descriptor keep their view); the descriptor closes when idle. */
  async delete(): Promise<void> {
    this.deleted = true;
    await fs.promises.unlink(this.file);
    await this.closeIfIdle();
  }

  /**
   * Forgets everything past `size` (appends that were refused): the in-memory ends and index now, the file by
   * cutTail. Only the partition's write loop calls it, between writes.
   */
  rollBack(size: number, nextOffset: number): void {
    this.size = size;
    this.nextOffset = nextOffset;
    this.index.truncate(size);
  }

  /**
   * Cuts the file at `size` and makes the cut durable. Through the path, not the descriptor: a sealed segment's
   * descriptor may have been reopened read-only.
   */
  async cutTail(size: number): Promise<void> {
    const handle = await fs.promises.open(this.file, 'r+');
    try {
      await handle.truncate(size);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** Unlinks the file at once (a roll must be able to create the same name next); the descriptor closes when idle. */
  discardSync(): void {
    this.deleted = true;
    try {
      fs.unlinkSync(this.file);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    void this.closeIfIdle().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    await closeFd(fd);
  }

  private async acquire(): Promise<number> {
    this.refs++;
    this.lastUsed = ++useClock;
    if (this.fd !== null) return this.fd;
    try {
      if (!this.opening) {
        // Only sealed segments are ever closed, and they are never written again: read-only is enough.
        this.opening = new Promise<number>((resolve, reject) => {
          fs.open(this.file, 'r', (err, fd) => (err ? reject(err) : resolve(fd)));
        }).then((fd) => {
          this.opening = null;
          this.fd = fd;
          return fd;
        });
      }
      return await this.opening;
    } catch (err) {
      this.opening = null;
      this.refs--;
      throw err;
    }
  }

  private release(): void {
    this.refs--;
    if (this.refs === 0 && this.deleted) void this.closeIfIdle().catch(() => undefined);
  }
}
