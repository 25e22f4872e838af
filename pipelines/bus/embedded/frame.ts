/**
 * Wire grammar of a segment file `<dir>/<topic>/<partition>/<20-digit base offset>.log`. Integers are big-endian
 * (like Kafka), so `xxd` output reads naturally:
 *
 *   segment    = *frame                       ; frames back to back, no file header, no padding
 *   frame      = length crc body              ; one checksum per frame, whatever it holds
 *   length     = u32                          ; bytes after this field: 4 (crc) + size of body
 *   crc        = u32                          ; CRC-32/ISO-HDLC (= zlib.crc32, see crc32.ts) of body
 *   body       = batchBody / recordBody       ; the B flag of the offset word tells which
 *
 *   batchBody  = offsetWord maxTimestamp count 1*record    ; B set, H clear; what the producer writes
 *   offsetWord = u64                          ; bit 63 = H (record bodies only: a headers block follows the key);
 *                                             ; bit 62 = B: a batch body; bits 53..61 are 0; bits 0..52 = the
 *                                             ; offset of the frame's first record. Offsets are dense: base offset of
 *                                             ; the file, then +1 per record (a batch of n takes n offsets)
 *   maxTimestamp = f64                        ; newest timestamp among the records (retention reads only this)
 *   count      = i32                          ; records in the batch, >= 1
 *   record     = recordLength attributes timestamp keyLength key [headers] value
 *   recordLength = u32                        ; bytes after this field
 *   attributes = u8                           ; bit 0 = a headers block follows the key; the other bits are 0
 *
 *   recordBody = offsetWord timestamp keyLength key [headers] value      ; B clear: one record, the frame before
 *                                             ; batches (issue 12); still read, no longer written
 *   timestamp  = f64                          ; epoch milliseconds (IEEE 754 double)
 *   keyLength  = i32                          ; -1 = null key, else the byte count of key
 *   key        = *byte                        ; UTF-8, keyLength bytes (none when -1)
 *   headers    = headersLength 1*header       ; present exactly when the H flag (or bit 0 of attributes) is set
 *   headersLength = u32                       ; bytes of the header entries after this field
 *   header     = nameLength name valueLength headerValue
 *   nameLength = u16                          ; ≥ 1; name = nameLength bytes of UTF-8
 *   valueLength = u16                         ; headerValue = valueLength bytes of UTF-8
 *   value      = *byte                        ; the rest of the record
 *
 * One send's records for one partition go into batch frames of about BATCH_TARGET_BYTES each, so reading and
 * recovering a log checks one CRC per batch instead of one per record (as Kafka's v2 record batch). A batch is
 * written in one append and acknowledged whole, so a crash tears at most an unacknowledged batch; damage inside a
 * batch costs the batch (its CRC no longer matches), as in Kafka.
 *
 * The length comes first so a reader can skip frames without decoding them; the CRC covers the offsets and the
 * headers too, so a frame copied to the wrong place, or a rotted header, is caught.
 *
 * Every segment written before batches (record bodies, with or without headers) stays readable as it is. A reader
 * from before batches rejects a batch frame as 'offset beyond 2^53' (bit 62) rather than misreading it.
 */
import { type MessageHeaders, NO_HEADERS } from '../headers.js';
import { crc32 } from './crc32.js';
import { readUtf8, writeUtf8 } from './utf8.js';

/** length + crc + offset + timestamp + keyLength: a record frame's bytes besides key, headers and value; also a batch frame's header (length + crc + offset + maxTimestamp + count). */
export const FRAME_OVERHEAD_BYTES = 28;
/** recordLength + attributes + timestamp + keyLength: a batch's bytes per record besides key, headers and value. */
export const RECORD_OVERHEAD_BYTES = 17;
/** The fewest bytes an offset takes in a log: a record in a batch with nothing but its fixed fields. */
export const MIN_BYTES_PER_OFFSET = RECORD_OVERHEAD_BYTES;
/** The part of `length` that is not key or value: crc + offset + timestamp + keyLength (or crc + offset + maxTimestamp + count). */
const LENGTH_FIXED_BYTES = 24;
/** The part of recordLength that is not key, headers or value: attributes + timestamp + keyLength. */
const RECORD_FIXED_BYTES = 13;
/**
 * Largest message (key + value + headers block bytes) the log can hold and its reader can return: what one frame
 * of 256 MiB held before batches. `bus.max_message_bytes` may not exceed it, so nothing is ever acknowledged that a
 * consumer cannot read.
 */
export const MAX_MESSAGE_BYTES_LIMIT = 256 * 1024 * 1024 - FRAME_OVERHEAD_BYTES;
/** Upper bound of one frame (a batch holding one message of the limit); anything larger in a length field is damage. */
export const MAX_FRAME_BYTES = FRAME_OVERHEAD_BYTES + RECORD_OVERHEAD_BYTES + MAX_MESSAGE_BYTES_LIMIT;
/** Default `bus.max_message_bytes`: Kafka's order of magnitude, far above any feed's record. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/**
 * A send's records for a partition are cut into batch frames of about this many bytes (a larger record gets a batch
 * of its own). Small enough that a read starting inside a batch checks little it does not return, large enough
 * that a batch's fixed costs (header, CRC call, index entry) vanish per record.
 */
export const BATCH_TARGET_BYTES = 64 * 1024;
const TWO_POW_32 = 4294967296;
/** Offsets are JS numbers: the high word may use 21 bits (2^53). */
const MAX_OFFSET_HIGH_WORD = 0x1fffff;
/** Bit 63 of the offset word (bit 31 of its high half): the (record) frame has a headers block. */
export const HEADERS_FLAG = 0x80000000;
/** Bit 62 of the offset word: the frame is a batch. */
export const BATCH_FLAG = 0x40000000;
/** The flags as the first byte of the offset word holds them. */
const HEADERS_FLAG_BYTE = 0x80;
const BATCH_FLAG_BYTE = 0x40;
const FLAG_BITS_BYTE = HEADERS_FLAG_BYTE | BATCH_FLAG_BYTE;
/** The offset's part of the high half of the offset word. */
export const OFFSET_HIGH_MASK = 0x3fffffff;
/** Bit 0 of a batch record's attributes: a headers block follows the key. */
const RECORD_HEADERS_ATTRIBUTE = 0x01;

/** Returned by parseFrame when the buffer ends before the frame does (a torn tail, or a read that was too short). */
export const INCOMPLETE = 'incomplete frame';

/**
 * Decoded header of the frame at `position` and, after nextRecord, of one of its records; positions are indexes
 * into the parsed buffer.
 */
export interface FrameView {
  position: number;
  /** Whole frame, length field included. */
  size: number;
  /** Offset of the frame's first record. */
  offset: number;
  /** Records in the frame (1 for a record frame). */
  count: number;
  /** Newest timestamp among the frame's records. */
  maxTimestamp: number;
  /** A batch frame: call nextRecord for each record. A record frame's record fields are set by parseFrame. */
  batch: boolean;
  /** Where nextRecord reads the next record of a batch. */
  next: number;
  /** Where the current record is, as revisitRecord takes it: a batch record's position, or -(frame position) - 1. */
  record: number;
  /**
   * The current record's key length (-1 for a null key), then its bounds below. Its timestamp is read by
   * recordTimestamp, only when a message object is built.
   */
  keyLength: number;
  keyStart: number;
  /** First header entry (after the block's length field); -1 when the record has no headers. */
  headersStart: number;
  headersEnd: number;
  valueStart: number;
  /** End of the current record's value. */
  end: number;
}

export function newFrameView(): FrameView {
  return {
    position: 0,
    size: 0,
    offset: 0,
    count: 0,
    maxTimestamp: 0,
    batch: false,
    next: 0,
    record: 0,
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
 * A batch's records are checked to tile the frame exactly; their fields are checked by nextRecord. Verifying the
 * CRC costs ~1 ns per byte; recovery and reads both do it because a page that rotted on disk must surface as an
 * error, not as a silently wrong message.
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
  if ((word & BATCH_FLAG) !== 0) {
    if ((word & HEADERS_FLAG) !== 0) return 'batch frame with the headers flag set';
    return parseBatchHeader(buf, pos, frameEnd, out);
  }
  out.batch = false;
  out.count = 1;
  out.record = -pos - 1;
  out.maxTimestamp = buf.readDoubleBE(pos + 16);
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

/** A batch frame's count and maxTimestamp, and that its records' lengths tile it exactly. */
function parseBatchHeader(buf: Buffer, pos: number, frameEnd: number, out: FrameView): string | undefined {
  const count = buf.readInt32BE(pos + 24);
  const first = pos + FRAME_OVERHEAD_BYTES;
  if (count < 1 || count > (frameEnd - first) / RECORD_OVERHEAD_BYTES) return `record count ${count} out of range`;
  let at = first;
  for (let k = 0; k < count; k++) {
    if (frameEnd - at < 4) return `record ${k} of ${count} runs past the batch`;
    const recordLength = buf.readUInt32BE(at);
    if (recordLength < RECORD_FIXED_BYTES || recordLength > frameEnd - at - 4) {
      return `record ${k} of ${count}: length ${recordLength} out of range`;
    }
    at += 4 + recordLength;
  }
  if (at !== frameEnd) return `the batch's ${count} records end ${frameEnd - at} bytes before the frame`;
  out.batch = true;
  out.count = count;
  out.maxTimestamp = buf.readDoubleBE(pos + 16);
  out.next = first;
  return undefined;
}

/**
 * Moves `view` (a batch parseFrame accepted) to its next record: key, headers and value bounds. Returns
 * why the record is bad, or undefined. Call it exactly `count` times per batch.
 */
export function nextRecord(buf: Buffer, view: FrameView): string | undefined {
  const at = view.next;
  view.record = at;
  const recordEnd = at + 4 + buf.readUInt32BE(at);
  view.next = recordEnd;
  const attributes = buf[at + 4]!;
  if ((attributes & ~RECORD_HEADERS_ATTRIBUTE) !== 0) return `record attributes ${attributes} unknown`;
  const keyLength = buf.readInt32BE(at + 13);
  const keyStart = at + 4 + RECORD_FIXED_BYTES;
  if (keyLength < -1 || keyLength > recordEnd - keyStart) return `key length ${keyLength} out of range`;
  view.keyLength = keyLength;
  view.keyStart = keyStart;
  view.end = recordEnd;
  const afterKey = keyStart + Math.max(keyLength, 0);
  if (attributes === 0) {
    view.headersStart = -1;
    view.headersEnd = -1;
    view.valueStart = afterKey;
    return undefined;
  }
  return parseHeadersBlock(buf, afterKey, recordEnd, view);
}

/** The timestamp of the record at `record` (FrameView.record: a batch record's position, or -(frame position) - 1). */
export function recordTimestamp(buf: Buffer, record: number): number {
  return record >= 0 ? buf.readDoubleBE(record + 5) : buf.readDoubleBE(-record - 1 + 16);
}

/**
 * Points `view` again at a record a read already checked: the batch record at `pos`, or, for a negative `pos`, the
 * record frame at `-pos - 1`. No checks: only for positions parseFrame and nextRecord accepted in this buffer.
 */
export function revisitRecord(buf: Buffer, pos: number, view: FrameView): void {
  let keyStart: number;
  let headersFlag: boolean;
  if (pos >= 0) {
    view.end = pos + 4 + buf.readUInt32BE(pos);
    headersFlag = buf[pos + 4] !== 0;
    view.keyLength = buf.readInt32BE(pos + 13);
    keyStart = pos + 4 + RECORD_FIXED_BYTES;
  } else {
    const frame = -pos - 1;
    view.end = frame + 4 + buf.readUInt32BE(frame);
    headersFlag = buf[frame + 8]! >= HEADERS_FLAG_BYTE;
    view.keyLength = buf.readInt32BE(frame + 24);
    keyStart = frame + FRAME_OVERHEAD_BYTES;
  }
  view.keyStart = keyStart;
  const afterKey = keyStart + Math.max(view.keyLength, 0);
  if (headersFlag) {
    view.headersStart = afterKey + 4;
    view.headersEnd = view.headersStart + buf.readUInt32BE(afterKey);
    view.valueStart = view.headersEnd;
  } else {
    view.headersStart = -1;
    view.headersEnd = -1;
    view.valueStart = afterKey;
  }
}

/** Bounds of the headers block at `at` (the record has headers), checked entry by entry so decodeHeaders can trust them. */
function parseHeadersBlock(buf: Buffer, at: number, recordEnd: number, out: FrameView): string | undefined {
  if (recordEnd - at < 4) return 'headers block runs past the record';
  const blockLength = buf.readUInt32BE(at);
  const start = at + 4;
  if (blockLength === 0 || blockLength > recordEnd - start) return `headers length ${blockLength} out of range`;
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

/** The headers of a record nextRecord or parseFrame accepted: NO_HEADERS when it has none, else a fresh null-prototype object. */
export function decodeHeaders(buf: Buffer, headersStart: number, headersEnd: number): MessageHeaders {
  if (headersStart < 0) return NO_HEADERS;
  // Null prototype: a header named `__proto__` is a header like any other, not a prototype change.
  const headers = Object.create(null) as Record<string, string>;
  for (let at = headersStart; at < headersEnd; ) {
    const nameEnd = at + 2 + buf.readUInt16BE(at);
    const name = readUtf8(buf, at + 2, nameEnd);
    const valueEnd = nameEnd + 2 + buf.readUInt16BE(nameEnd);
    headers[name] = readUtf8(buf, nameEnd + 2, valueEnd);
    at = valueEnd;
  }
  return headers;
}

/** Opens a batch frame at `pos`; its records follow at the returned position. closeBatch fills in the header. */
export function openBatch(pos: number): number {
  return pos + FRAME_OVERHEAD_BYTES;
}

/**
 * Completes the batch frame opened at `pos` whose records end at `end`: length, the B flag, maxTimestamp and count.
 * Its offset and CRC are filled in later by sealFrames: the producer encodes while the caller's messages are still
 * in hand, but learns its offsets only when the partition accepts the batch.
 */
export function closeBatch(out: Buffer, pos: number, end: number, count: number, maxTimestamp: number): void {
  out.writeUInt32BE(end - pos - 4, pos);
  // Only the flag's byte: sealFrames writes the offset word around it.
  out[pos + 8] = BATCH_FLAG_BYTE;
  out.writeDoubleBE(maxTimestamp, pos + 16);
  out.writeInt32BE(count, pos + 24);
}

/**
 * Writes one record of a batch at `pos`. The key is copied from `keys[keyStart, keyStart + keyLength)`.
 * `headersBytes` is what headerBlockBytes measured for `headers` (0: no headers block). Returns the position after
 * the record.
 */
export function writeRecord(
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
  out.writeUInt32BE(RECORD_FIXED_BYTES + Math.max(keyLength, 0) + headersBytes + valueLength, pos);
  out[pos + 4] = headersBytes > 0 ? RECORD_HEADERS_ATTRIBUTE : 0;
  out.writeDoubleBE(timestamp, pos + 5);
  out.writeInt32BE(keyLength, pos + 13);
  let at = pos + 4 + RECORD_FIXED_BYTES;
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

/** Bytes a record of a batch takes for a message of `messageBytes` (key + headers block + value). */
export function recordBytes(messageBytes: number): number {
  return RECORD_OVERHEAD_BYTES + messageBytes;
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

/** Records held by the frame at `pos` of a buffer of whole frames (a batch's count, or 1). */
export function recordsInFrame(buf: Buffer, pos: number): number {
  return (buf[pos + 8]! & BATCH_FLAG_BYTE) !== 0 ? buf.readInt32BE(pos + 24) : 1;
}

/** Numbers the frames of `buf` (whole frames only) from `baseOffset` and computes their CRCs: one per frame. */
export function sealFrames(buf: Buffer, baseOffset: number): void {
  let offset = baseOffset;
  for (let pos = 0; pos < buf.length; ) {
    const frameEnd = pos + 4 + buf.readUInt32BE(pos);
    const flags = buf[pos + 8]! & FLAG_BITS_BYTE;
    const count = recordsInFrame(buf, pos);
    buf.writeUInt32BE(Math.floor(offset / TWO_POW_32), pos + 8);
    if (flags !== 0) buf[pos + 8] = buf[pos + 8]! | flags;
    buf.writeUInt32BE(offset >>> 0, pos + 12);
    buf.writeUInt32BE(crc32(buf, pos + 8, frameEnd), pos + 4);
    offset += count;
    pos = frameEnd;
  }
}
