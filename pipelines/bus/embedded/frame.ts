/**
 * Wire grammar of a segment file `<dir>/<topic>/<partition>/<20-digit base offset>.log`. Integers are big-endian
 * (like Kafka), so `xxd` output reads naturally:
 *
 *   segment    = *frame                       ; frames back to back, no file header, no padding
 *   frame      = length crc body
 *   length     = u32                          ; bytes after this field: 4 (crc) + size of body
 *   crc        = u32                          ; CRC-32/ISO-HDLC (= zlib.crc32, see crc32.ts) of body
 *   body       = offset timestamp keyLength key value
 *   offset     = u64                          ; dense: base offset of the file, then +1 per frame (kept < 2^53)
 *   timestamp  = f64                          ; epoch milliseconds (IEEE 754 double)
 *   keyLength  = i32                          ; -1 = null key, else the byte count of key
 *   key        = *byte                        ; UTF-8, keyLength bytes (none when -1)
 *   value      = *byte                        ; the rest of the frame: length - 24 - max(keyLength, 0) bytes
 *
 * A frame therefore occupies 28 + key + value bytes. The length comes first so a reader can skip frames without
 * decoding them; the CRC covers the offset too, so a frame copied to the wrong place is caught.
 */
import { crc32 } from './crc32.js';
import { writeUtf8 } from './utf8.js';

/** length + crc + offset + timestamp + keyLength. */
export const FRAME_OVERHEAD_BYTES = 28;
/** The part of `length` that is not key or value: crc + offset + timestamp + keyLength. */
const LENGTH_FIXED_BYTES = 24;
/** Upper bound of one frame; anything larger in a length field is damage, not data. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/**
 * Largest message (key + value bytes) the log can hold and its reader can return: one frame of MAX_FRAME_BYTES.
 * `bus.max_message_bytes` may not exceed it, so nothing is ever acknowledged that a consumer cannot read.
 */
export const MAX_MESSAGE_BYTES_LIMIT = MAX_FRAME_BYTES - FRAME_OVERHEAD_BYTES;
/** Default `bus.max_message_bytes`: Kafka's order of magnitude, far above any feed's record. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
const TWO_POW_32 = 4294967296;
/** Offsets are JS numbers: the high word may use 21 bits (2^53). */
const MAX_OFFSET_HIGH_WORD = 0x1fffff;

/** Returned by parseFrame when the buffer ends before the frame does (a torn tail, or a read that was too short). */
export const INCOMPLETE = 'incomplete frame';

/** Decoded header of the frame at `position`; positions are indexes into the parsed buffer. */
export interface FrameView {
  position: number;
  /** Whole frame, length field included. */
  size: number;
  offset: number;
  timestamp: number;
  /** -1 for a null key. */
  keyLength: number;
  keyStart: number;
  valueStart: number;
  end: number;
}

export function newFrameView(): FrameView {
  return { position: 0, size: 0, offset: 0, timestamp: 0, keyLength: -1, keyStart: 0, valueStart: 0, end: 0 };
}

/**
 * Reads the frame at `pos` (buffer valid up to `end`) into `out`. Returns undefined when the frame is whole and
 * sound, INCOMPLETE when `end` cuts it (then `out.size` is set once the length field was readable), or why it is bad.
 * Verifying the CRC costs ~0.3 µs per small record; recovery and reads both do it because a page that rotted
 * on disk must surface as an error, not as a silently wrong message.
 */
export function parseFrame(
  buf: Buffer,
  pos: number,
  end: number,
  out: FrameView,
  verifyCrc: boolean,
): string | undefined {
  out.position = pos;
  out.size = 0;
  if (end - pos < 4) return INCOMPLETE;
  const length = buf.readUInt32BE(pos);
  if (length < LENGTH_FIXED_BYTES || length + 4 > MAX_FRAME_BYTES) return `frame length ${length} out of range`;
  out.size = length + 4;
  if (end - pos < out.size) return INCOMPLETE;
  const frameEnd = pos + out.size;
  if (verifyCrc) {
    const stored = buf.readUInt32BE(pos + 4);
    const actual = crc32(buf, pos + 8, frameEnd);
    if (stored !== actual) return `crc mismatch (stored ${stored}, computed ${actual})`;
  }
  const high = buf.readUInt32BE(pos + 8);
  if (high > MAX_OFFSET_HIGH_WORD) return 'offset beyond 2^53';
  out.offset = high * TWO_POW_32 + buf.readUInt32BE(pos + 12);
  out.timestamp = buf.readDoubleBE(pos + 16);
  const keyLength = buf.readInt32BE(pos + 24);
  if (keyLength < -1 || keyLength > length - LENGTH_FIXED_BYTES) return `key length ${keyLength} out of range`;
  out.keyLength = keyLength;
  out.keyStart = pos + FRAME_OVERHEAD_BYTES;
  out.valueStart = out.keyStart + Math.max(keyLength, 0);
  out.end = frameEnd;
  return undefined;
}

/**
 * Writes one frame whose offset and CRC are filled in later by sealFrames: the producer encodes while the caller's
 * messages are still in hand, but learns its offsets only when the partition accepts the batch.
 * The key is copied from `keys[keyStart, keyStart + keyLength)`. Returns the position after the frame.
 */
export function writeFrame(
  out: Buffer,
  pos: number,
  timestamp: number,
  keys: Buffer,
  keyStart: number,
  keyLength: number,
  value: Buffer | string,
  valueLength: number,
): number {
  out.writeUInt32BE(LENGTH_FIXED_BYTES + Math.max(keyLength, 0) + valueLength, pos);
  out.writeDoubleBE(timestamp, pos + 16);
  out.writeInt32BE(keyLength, pos + 24);
  let at = pos + FRAME_OVERHEAD_BYTES;
  if (keyLength > 0) {
    // Keys are short (ids): a byte loop beats the native call of copy().
    if (keyLength <= 32) for (let k = 0; k < keyLength; k++) out[at + k] = keys[keyStart + k]!;
    else keys.copy(out, at, keyStart, keyStart + keyLength);
    at += keyLength;
  }
  if (typeof value === 'string') writeUtf8(out, value, at, valueLength);
  else value.copy(out, at);
  return at + valueLength;
}

/** Numbers the frames of `buf` (whole frames only) from `baseOffset` and computes their CRCs. */
export function sealFrames(buf: Buffer, baseOffset: number): void {
  let offset = baseOffset;
  for (let pos = 0; pos < buf.length; offset++) {
    const frameEnd = pos + 4 + buf.readUInt32BE(pos);
    buf.writeUInt32BE(Math.floor(offset / TWO_POW_32), pos + 8);
    buf.writeUInt32BE(offset >>> 0, pos + 12);
    buf.writeUInt32BE(crc32(buf, pos + 8, frameEnd), pos + 4);
    pos = frameEnd;
  }
}
