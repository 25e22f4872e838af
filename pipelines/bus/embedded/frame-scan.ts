/**
 * Looking for sound frames past a bad one. Recovery uses it to tell a torn tail (nothing sound follows: a crash
 * stopped a write) from damage (sound frames follow: bytes rotted or were overwritten in the middle), and
 * `cityhub bus verify|repair` to measure what damage covers. Rare path: it reads the rest of the file in chunks and
 * tries every byte position, checking the cheap header fields before any CRC.
 */
import { crc32 } from './crc32.js';
import {
  BATCH_FLAG,
  FRAME_OVERHEAD_BYTES,
  type FrameView,
  HEADERS_FLAG,
  INCOMPLETE,
  MAX_FRAME_BYTES,
  MIN_BYTES_PER_OFFSET,
  newFrameView,
  nextRecord,
  OFFSET_HIGH_MASK,
  parseFrame,
} from './frame.js';
import { readFullyAt } from './fs-util.js';

/** Scans read segments in chunks this large: few syscalls, bounded memory. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const LENGTH_FIXED_BYTES = 24;
const TWO_POW_32 = 4294967296;

export interface SegmentScan {
  /** Byte position of the first bad frame, or the file size when every frame is sound. */
  end: number;
  /** Offset after the last sound frame's records. */
  nextOffset: number;
  /** Newest record timestamp among the sound frames (-Infinity when none). */
  maxTimestamp: number;
  /** Why the frame at `end` is bad; undefined when the whole file is sound. */
  bad: string | undefined;
}

/**
 * Walks the frames of a segment from its start, checking each CRC and that offsets count up from `baseOffset`,
 * and stops at the first bad one. `onFrame` sees every sound frame (recovery builds the index from it).
 */
export async function scanSegment(
  fd: number,
  fileSize: number,
  baseOffset: number,
  onFrame?: (offset: number, position: number) => void,
): Promise<SegmentScan> {
  const view = newFrameView();
  let buf = Buffer.allocUnsafe(Math.max(4096, Math.min(CHUNK_BYTES, fileSize)));
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
      const needed = Math.min(Math.max(CHUNK_BYTES, view.size), fileSize - bufStart);
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
    // A batch's records are checked here as a read checks them, so a record no read could return is damage that
    // verify reports and repair moves aside, not a poll that fails forever.
    if (view.batch) bad = checkRecords(buf, view);
    if (bad !== undefined) break;
    onFrame?.(expected, bufStart + at);
    if (view.maxTimestamp > maxTimestamp) maxTimestamp = view.maxTimestamp;
    expected += view.count;
    at += view.size;
  }
  return { end: bad === undefined ? fileSize : bufStart + at, nextOffset: expected, maxTimestamp, bad };
}

/** Why a record of the batch `view` holds is bad, or undefined. */
function checkRecords(buf: Buffer, view: FrameView): string | undefined {
  for (let k = 0; k < view.count; k++) {
    const bad = nextRecord(buf, view);
    if (bad !== undefined) return `record at offset ${view.offset + k}: ${bad}`;
  }
  return undefined;
}

export interface FoundFrame {
  position: number;
  /** Offset of its first record. */
  offset: number;
  /** Records it holds: offsets [offset, offset + count). */
  count: number;
  /** Whole frame, length field included. */
  size: number;
}

/**
 * Most offsets the bytes in [from, fileSize) can hold past `minOffset`: every offset takes at least
 * MIN_BYTES_PER_OFFSET (a record of a batch). A frame found beyond that bound cannot belong to this run of offsets.
 */
export function offsetsFitting(bytes: number): number {
  return Math.ceil(bytes / MIN_BYTES_PER_OFFSET);
}

/**
 * The first frame at or after byte `from` of the file that is whole, passes its CRC and carries an offset in
 * [minOffset, maxOffset] (default: as many offsets as the bytes can hold); undefined when there is none.
 */
export async function findSoundFrame(
  fd: number,
  from: number,
  fileSize: number,
  minOffset: number,
  maxOffset = minOffset + offsetsFitting(fileSize - from),
): Promise<FoundFrame | undefined> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(0, fileSize - from)));
  let frameBuf: Buffer | undefined;
  for (let start = from; fileSize - start >= FRAME_OVERHEAD_BYTES; ) {
    const length = await readFullyAt(fd, buf, Math.min(buf.length, fileSize - start), start);
    const lastHeader = length - FRAME_OVERHEAD_BYTES;
    for (let at = 0; at <= lastHeader; at++) {
      const frameLength = buf.readUInt32BE(at);
      if (frameLength < LENGTH_FIXED_BYTES || frameLength + 4 > MAX_FRAME_BYTES) continue;
      const size = frameLength + 4;
      if (start + at + size > fileSize) continue;
      // The offset word's top two bits are flags (frame.ts), the rest is the offset.
      const word = buf.readUInt32BE(at + 8);
      const offset = (word & OFFSET_HIGH_MASK) * TWO_POW_32 + buf.readUInt32BE(at + 12);
      if (offset < minOffset || offset > maxOffset) continue;
      // A record frame's key length, or a batch's record count, in range.
      const field = buf.readInt32BE(at + 24);
      let count = 1;
      if ((word & BATCH_FLAG) !== 0) {
        if ((word & HEADERS_FLAG) !== 0) continue;
        if (field < 1 || field > (frameLength - LENGTH_FIXED_BYTES) / MIN_BYTES_PER_OFFSET) continue;
        count = field;
      } else if (field < -1 || field > frameLength - LENGTH_FIXED_BYTES) {
        continue;
      }
      const stored = buf.readUInt32BE(at + 4);
      let actual: number;
      if (at + size <= length) {
        actual = crc32(buf, at + 8, at + size);
      } else {
        if (!frameBuf || frameBuf.length < size) frameBuf = Buffer.allocUnsafe(size);
        await readFullyAt(fd, frameBuf, size, start + at);
        actual = crc32(frameBuf, 8, size);
      }
      if (stored === actual) return { position: start + at, offset, count, size };
    }
    if (start + length >= fileSize) break;
    start += lastHeader + 1;
  }
  return undefined;
}

/** Sound frames from `from` on (resyncing past bad bytes): how many and the highest offset of a record in them. */
export async function soundFramesAfter(
  fd: number,
  from: number,
  fileSize: number,
  minOffset: number,
): Promise<{ count: number; maxOffset: number | undefined }> {
  const bound = minOffset + offsetsFitting(fileSize - from);
  let count = 0;
  let maxOffset: number | undefined;
  for (let at = from; ; ) {
    const found = await findSoundFrame(fd, at, fileSize, minOffset, bound);
    if (!found) return { count, maxOffset };
    count++;
    const last = found.offset + found.count - 1;
    if (maxOffset === undefined || last > maxOffset) maxOffset = last;
    at = found.position + found.size;
  }
}
