/**
 * UTF-8 to and from Buffers on the per-record path. Node's Buffer has long-standing (if undocumented) utf8Write and
 * utf8Slice methods, the ones write() and toString() end up in; calling them directly skips the argument
 * normalisation, which for a 250-byte record is a large share of the cost. Falls back to the public API should a
 * future Node drop them.
 */
interface Utf8Buffer extends Buffer {
  utf8Write(text: string, offset: number, length: number): number;
  utf8Slice(start: number, end: number): string;
}

const proto = Buffer.prototype as Partial<Utf8Buffer>;
const direct = typeof proto.utf8Write === 'function' && typeof proto.utf8Slice === 'function';

/** Writes `text` at `offset` (at most `length` bytes); returns the bytes written. */
export const writeUtf8: (buf: Buffer, text: string, offset: number, length: number) => number = direct
  ? (buf, text, offset, length) => (buf as Utf8Buffer).utf8Write(text, offset, length)
  : (buf, text, offset, length) => buf.write(text, offset, length, 'utf8');

export const readUtf8: (buf: Buffer, start: number, end: number) => string = direct
  ? (buf, start, end) => (buf as Utf8Buffer).utf8Slice(start, end)
  : (buf, start, end) => buf.toString('utf8', start, end);
