/**
 * One segment file: a run of frames (see frame.ts) starting at `baseOffset`. Knows its sizes, its sparse index and
 * its file descriptor; the partition decides when to roll, write, sync and delete.
 */
import fs from 'node:fs';
import { basename, join } from 'node:path';
import { EmbeddedLogCorruptError } from './errors.js';
import { INCOMPLETE, newFrameView, parseFrame } from './frame.js';
import { closeFd, fdatasync, readFullyAt, writevAllAt } from './fs-util.js';
import { OffsetIndex } from './offset-index.js';

const SEGMENT_FILE = /^(\d{20})\.log$/;
/** Recovery reads segments in chunks this large: few syscalls, bounded memory. */
const SCAN_CHUNK_BYTES = 8 * 1024 * 1024;

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
  static createSync(dir: string, baseOffset: number, startBytes: number): Segment {
    const file = join(dir, segmentFileName(baseOffset));
    const fd = fs.openSync(file, 'wx+');
    return new Segment(file, baseOffset, startBytes, new OffsetIndex(baseOffset), fd, 0, baseOffset, -Infinity);
  }

  /**
   * Opens an existing segment and verifies every frame. A bad or torn frame in the last segment is where a crash
   * stopped a write: the file is truncated there and `onTruncate` told. Anywhere else it is damage that recovery
   * must not paper over, so EmbeddedLogCorruptError is thrown.
   */
  static async recover(
    file: string,
    baseOffset: number,
    startBytes: number,
    isLast: boolean,
    onTruncate: (tail: TruncatedTail) => void,
  ): Promise<Segment> {
    const fd = fs.openSync(file, isLast ? 'r+' : 'r');
    try {
      const fileSize = fs.fstatSync(fd).size;
      const index = new OffsetIndex(baseOffset);
      const view = newFrameView();
      let buf = Buffer.allocUnsafe(Math.max(4096, Math.min(SCAN_CHUNK_BYTES, fileSize)));
      let bufStart = 0;
      let bufLength = 0;
      let at = 0;
      let expected = baseOffset;
      let maxTimestamp = -Infinity;
      let bad: string | undefined;
      while (bufStart + at < fileSize) {
        const status = parseFrame(buf, at, bufLength, view, true);
        if (status === INCOMPLETE && bufStart + bufLength < fileSize) {
          bufStart += at;
          at = 0;
          const needed = Math.min(Math.max(SCAN_CHUNK_BYTES, view.size), fileSize - bufStart);
          if (buf.length < needed) buf = Buffer.allocUnsafe(needed);
          bufLength = await readFullyAt(fd, buf, Math.min(buf.length, fileSize - bufStart), bufStart);
          continue;
        }
        if (status === INCOMPLETE) {
          bad = 'torn frame: the file ends inside it';
          break;
        }
        if (status !== undefined) {
          bad = status;
          break;
        }
        if (view.offset !== expected) {
          bad = `offset ${view.offset} where ${expected} was expected`;
          break;
        }
        index.offer(expected, bufStart + at);
        if (view.timestamp > maxTimestamp) maxTimestamp = view.timestamp;
        expected++;
        at += view.size;
      }
      let size = fileSize;
      if (bad !== undefined) {
        const position = bufStart + at;
        if (!isLast) throw new EmbeddedLogCorruptError(file, position, bad);
        fs.ftruncateSync(fd, position);
        fs.fdatasyncSync(fd);
        onTruncate({ file, position, droppedBytes: fileSize - position, reason: bad });
        size = position;
      }
      const segment = new Segment(file, baseOffset, startBytes, index, fd, size, expected, maxTimestamp);
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
      await writevAllAt(fd, buffers, position);
    } finally {
      this.release();
    }
  }

  async sync(): Promise<void> {
    const fd = await this.acquire();
    try {
      await fdatasync(fd);
    } finally {
      this.release();
    }
  }

  /** Reads up to `length` bytes at `position` into a fresh buffer (messages keep views into it). */
  async read(position: number, length: number): Promise<Buffer> {
    const fd = await this.acquire();
    try {
      const target = Buffer.allocUnsafe(length);
      const n = await readFullyAt(fd, target, length, position);
      return n === length ? target : target.subarray(0, n);
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
