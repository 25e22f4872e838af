/**
 * Wire grammar of a segment file `<dir>/<topic>/<partition>/<20-digit base offset>.log`. Integers are big-endian
 * (like Kafka), so `xxd` output reads naturally:
 *
 *   segment    = *frame                       ; frames back to back, no file header, no padding
 *   frame      = length crc body
 *   length     = u32                          ; bytes after this field: 4 (crc) + size of body
 *   crc        = u32                          ; CRC-32/ISO-HDLC (= zlib.crc32, see crc32.ts) of body
 *   body       = offsetWord timestamp keyLength key [headers] value
 *   offsetWord = u64                          ; bit 63 = H: a headers block follows the key; bits 53..62 are 0;
 *                                             ; bits 0..52 = the offset, dense: base offset of the file, then +1
 *                                             ; per frame
 *   timestamp  = f64                          ; epoch milliseconds (IEEE 754 double)
 *   keyLength  = i32                          ; -1 = null key, else the byte count of key
 *   key        = *byte                        ; UTF-8, keyLength bytes (none when -1)
 *   headers    = headersLength 1*header       ; present exactly when H is set
 *   headersLength = u32                       ; bytes of the header entries after this field
 *   header     = nameLength name valueLength headerValue
 *   nameLength = u16                          ; ≥ 1; name = nameLength bytes of UTF-8
 *   valueLength = u16                         ; headerValue = valueLength bytes of UTF-8
 *   value      = *byte                        ; the rest of the frame
 *
 * A frame therefore occupies 28 + key + value bytes, plus 4 + 4 per header + names + values when it has headers.
 * The length comes first so a reader can skip frames without decoding them; the CRC covers the offset and the
 * headers too, so a frame copied to the wrong place, or a rotted header, is caught.
 *
 * Frames written before headers existed have H clear (offsets stay below 2^53, so the top bits of the offset word
 * were always 0), and read as messages without headers: every existing segment stays readable as it is. A reader
 * from before headers rejects a frame with H set as 'offset beyond 2^53' rather than misreading it.
 */
import { type MessageHeaders, NO_HEADERS } from '../headers.js';
import { crc32 } from './crc32.js';
import { readUtf8, writeUtf8 } from './utf8.js';

/** length + crc + offset + timestamp + keyLength. */
export const FRAME_OVERHEAD_BYTES = 28;
/** The part of `length` that is not key or value: crc + offset + timestamp + keyLength. */
const LENGTH_FIXED_BYTES = 24;
/** Upper bound of one frame; anything larger in a length field is damage, not data. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/**
 * Largest message (key + value + headers block bytes) the log can hold and its reader can return: one frame of MAX_FRAME_BYTES.
 * `bus.max_message_bytes` may not exceed it, so nothing is ever acknowledged that a consumer cannot read.
 */
export const MAX_MESSAGE_BYTES_LIMIT = MAX_FRAME_BYTES - FRAME_OVERHEAD_BYTES;
/** Default `bus.max_message_bytes`: Kafka's order of magnitude, far above any feed's record. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
const TWO_POW_32 = 4294967296;
/** Offsets are JS numbers: the high word may use 21 bits (2^53). */
const MAX_OFFSET_HIGH_WORD = 0x1fffff;
/** Bit 63 of the offset word (bit 31 of its high half): the frame has a headers block. */
export const HEADERS_FLAG = 0x80000000;
/** The same bit as the first byte of the offset word holds it. */
const HEADERS_FLAG_BYTE = 0x80;
/** The offset's part of the high half of the offset word. */
export const OFFSET_HIGH_MASK = 0x7fffffff;

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
  /** First header entry (after the block's length field); -1 when the frame has no headers. */
  headersStart: number;
  headersEnd: number;
  valueStart: number;
  end: number;
}

export function newFrameView(): FrameView {
  return {
    position: 0,
    size: 0,
    offset: 0,
    timestamp: 0,
    keyLength: -1,
    keyStart: 0,
    headersStart: -1,
    headersEnd: -1,
    valueStart: 0,
    end: 0,
  };
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
  const word = buf.readUInt32BE(pos + 8);
  const high = word & OFFSET_HIGH_MASK;
  if (high > MAX_OFFSET_HIGH_WORD) return 'offset beyond 2^53';
  out.offset = high * TWO_POW_32 + buf.readUInt32BE(pos + 12);
  out.timestamp = buf.readDoubleBE(pos + 16);
  const keyLength = buf.readInt32BE(pos + 24);
  if (keyLength < -1 || keyLength > length - LENGTH_FIXED_BYTES) return `key length ${keyLength} out of range`;
  out.keyLength = keyLength;
  out.keyStart = pos + FRAME_OVERHEAD_BYTES;
  const afterKey = out.keyStart + Math.max(keyLength, 0);
  out.end = frameEnd;
  if (word < HEADERS_FLAG) {
    out.headersStart = -1;
    out.headersEnd = -1;
    out.valueStart = afterKey;
    return undefined;
  }
  return parseHeadersBlock(buf, afterKey, frameEnd, out);
}

/** Bounds of the headers block at `at` (H is set), checked entry by entry so decodeHeaders can trust them. */
function parseHeadersBlock(buf: Buffer, at: number, frameEnd: number, out: FrameView): string | undefined {
  if (frameEnd - at < 4) return 'headers block runs past the frame';
  const blockLength = buf.readUInt32BE(at);
  const start = at + 4;
  if (blockLength === 0 || blockLength > frameEnd - start) return `headers length ${blockLength} out of range`;
  const end = start + blockLength;
  let entry = start;
  while (entry < end) {
    if (end - entry < 2) return 'header entry runs past the headers block';
    const nameLength = buf.readUInt16BE(entry);
    if (nameLength === 0) return 'header with an empty name';
    entry += 2 + nameLength;
    if (end - entry < 2) return 'header entry runs past the headers block';
    entry += 2 + buf.readUInt16BE(entry);
  }
  if (entry !== end) return 'header entry runs past the headers block';
  out.headersStart = start;
  out.headersEnd = end;
  out.valueStart = end;
  return undefined;
}

/** The headers of a frame parseFrame accepted: NO_HEADERS when it has none, else a fresh null-prototype object. */
export function decodeHeaders(buf: Buffer, view: FrameView): MessageHeaders {
  if (view.headersStart < 0) return NO_HEADERS;
  // Null prototype: a header named `__proto__` is a header like any other, not a prototype change.
  const headers = Object.create(null) as Record<string, string>;
  for (let at = view.headersStart; at < view.headersEnd; ) {
    const nameEnd = at + 2 + buf.readUInt16BE(at);
    const name = readUtf8(buf, at + 2, nameEnd);
    const valueEnd = nameEnd + 2 + buf.readUInt16BE(nameEnd);
    headers[name] = readUtf8(buf, nameEnd + 2, valueEnd);
    at = valueEnd;
  }
  return headers;
}

/**
 * Writes one frame whose offset and CRC are filled in later by sealFrames: the producer encodes while the caller's
 * messages are still in hand, but learns its offsets only when the partition accepts the batch.
 * The key is copied from `keys[keyStart, keyStart + keyLength)`. `headersBytes` is what headerBlockBytes measured
 * for `headers` (0: no headers block). Returns the position after the frame.
 */
export function writeFrame(
  out: Buffer,
  pos: number,
  timestamp: number,
  keys: Buffer,
  keyStart: number,
  keyLength: number,
  headers: MessageHeaders | undefined,
  headersBytes: number,
  value: Buffer | string,
  valueLength: number,
): number {
  out.writeUInt32BE(LENGTH_FIXED_BYTES + Math.max(keyLength, 0) + headersBytes + valueLength, pos);
  // Only the H flag's byte: sealFrames writes the offset word around it (a byte store is cheaper than writeUInt32BE).
  out[pos + 8] = headersBytes > 0 ? HEADERS_FLAG_BYTE : 0;
  out.writeDoubleBE(timestamp, pos + 16);
  out.writeInt32BE(keyLength, pos + 24);
  let at = pos + FRAME_OVERHEAD_BYTES;
  if (keyLength > 0) {
    // Keys are short (ids): a byte loop beats the native call of copy().
    if (keyLength <= 32) for (let k = 0; k < keyLength; k++) out[at + k] = keys[keyStart + k]!;
    else keys.copy(out, at, keyStart, keyStart + keyLength);
    at += keyLength;
  }
  if (headersBytes > 0) at = writeHeaders(out, at, headers!, headersBytes);
  if (typeof value === 'string') writeUtf8(out, value, at, valueLength);
  else value.copy(out, at);
  return at + valueLength;
}

/** The headers block (measured by headerBlockBytes, so it fits) at `at`; returns the position after it. */
function writeHeaders(out: Buffer, at: number, headers: MessageHeaders, headersBytes: number): number {
  out.writeUInt32BE(headersBytes - 4, at);
  let entry = at + 4;
  const end = at + headersBytes;
  for (const name in headers) {
    const nameLength = writeUtf8(out, name, entry + 2, end - entry - 2);
    out.writeUInt16BE(nameLength, entry);
    entry += 2 + nameLength;
    const valueLength = writeUtf8(out, headers[name]!, entry + 2, end - entry - 2);
    out.writeUInt16BE(valueLength, entry);
    entry += 2 + valueLength;
  }
  return end;
}

/** Numbers the frames of `buf` (whole frames only) from `baseOffset` and computes their CRCs. */
export function sealFrames(buf: Buffer, baseOffset: number): void {
  let offset = baseOffset;
  for (let pos = 0; pos < buf.length; offset++) {
    const frameEnd = pos + 4 + buf.readUInt32BE(pos);
    const flag = buf[pos + 8]! & HEADERS_FLAG_BYTE;
    buf.writeUInt32BE(Math.floor(offset / TWO_POW_32), pos + 8);
    if (flag !== 0) buf[pos + 8] = buf[pos + 8]! | flag;
    buf.writeUInt32BE(offset >>> 0, pos + 12);
    buf.writeUInt32BE(crc32(buf, pos + 8, frameEnd), pos + 4);
    pos = frameEnd;
  }
}
