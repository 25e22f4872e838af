/**
 * Byte-level checks of a text file, chunk by chunk: is it text at all, and is it in the declared encoding. They run
 * before any parsing, so a GBK file declared UTF-8 (or the reverse) is reported instead of being decoded into
 * mojibake, and random bytes named .csv are reported as binary instead of as a thousand broken rows.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import type { TextEncoding } from './options.js';
import { type FileProblemError, fileProblem } from './problems.js';

const NEWLINE = 0x0a;
/** Share of control bytes (other than tab, line breaks and form feed) in the first chunk above which a file is binary. */
const CONTROL_BYTE_RATIO = 0.05;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Why `chunk` shows the file is not text, or undefined. `first` marks the file's first chunk. */
export function binaryReason(
  chunk: Buffer,
  offset: number,
  first: boolean,
): { message: string; byte: number } | undefined {
  const nul = chunk.indexOf(0);
  if (nul !== -1)
    return { message: 'holds NUL bytes: not a text file (or UTF-16, which is not supported)', byte: offset + nul };
  if (!first) return undefined;
  let control = 0;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i]!;
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d) || b === 0x7f) control++;
  }
  if (control > chunk.length * CONTROL_BYTE_RATIO)
    return {
      message: `${control} of its first ${chunk.length} bytes are control bytes: not a text file`,
      byte: offset,
    };
  return undefined;
}

/** Length of the prefix of `buf` that does not end inside a UTF-8 sequence. */
function completeUtf8Length(buf: Buffer): number {
  for (let i = buf.length - 1; i >= 0 && i >= buf.length - 3; i--) {
    const b = buf[i]!;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0x80) return buf.length;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return i + need > buf.length ? i : buf.length;
  }
  return buf.length;
}

/** Index of the first invalid UTF-8 sequence of `buf`, by bisecting valid prefixes. */
function firstInvalidUtf8(buf: Buffer): number {
  let lo = 0;
  let hi = buf.length;
  while (hi - lo > 4) {
    const mid = (lo + hi) >>> 1;
    if (isUtf8(buf.subarray(0, completeUtf8Length(buf.subarray(0, mid))))) lo = mid;
    else hi = mid;
  }
  for (let end = lo + 1; end <= hi; end++) {
    if (isUtf8(buf.subarray(0, completeUtf8Length(buf.subarray(0, end))))) continue;
    // Byte end-1 broke it: the bad sequence starts at a lead byte still waiting for it, or at that byte.
    const complete = completeUtf8Length(buf.subarray(0, end - 1));
    return Math.min(complete, end - 1);
  }
  return lo;
}

/** Streaming UTF-8 validation with the native checker; a sequence cut by a chunk end is carried to the next chunk. */
export class Utf8Validator {
  /** Whether any valid multibyte sequence was seen (pure ASCII is valid in every encoding we read). */
  sawNonAscii = false;
  private carry: Buffer | undefined;
  private consumed = 0;

  /** Byte offset (in the file) near the first invalid sequence, or -1 while the bytes are valid. */
  push(chunk: Buffer): number {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const base = this.consumed - (this.carry?.length ?? 0);
    this.consumed += chunk.length;
    const cut = completeUtf8Length(buf);
    const whole = buf.subarray(0, cut);
    if (!isUtf8(whole)) return base + firstInvalidUtf8(whole);
    if (!this.sawNonAscii && !isAscii(whole)) this.sawNonAscii = true;
    this.carry = cut < buf.length ? Buffer.from(buf.subarray(cut)) : undefined;
    return -1;
  }

  /** Offset of a sequence cut by the end of the file, or -1. */
  end(): number {
    return this.carry ? this.consumed - this.carry.length : -1;
  }
}

function countNewlines(buf: Buffer, end = buf.length): number {
  let n = 0;
  for (let at = buf.indexOf(NEWLINE); at !== -1 && at < end; at = buf.indexOf(NEWLINE, at + 1)) n++;
  return n;
}

/**
 * Decodes a file's chunks in its declared encoding, failing on the first byte that is not in it. Used by both
 * passes; `inspectFile` adds `EncodingCheck` for the mismatches decoding alone cannot see.
 */
export class TextDecoding {
  private readonly decoder: TextDecoder;
  private readonly utf8: Utf8Validator | undefined;
  private offset = 0;
  private lines = 0;

  constructor(
    private readonly encoding: TextEncoding,
    private readonly file: string,
  ) {
    // The WHATWG gbk decoder is the gb18030 decoder; utf-8 drops a leading BOM by itself, and need not be fatal
    // because the validator (which also finds the offset) has checked every byte first.
    this.decoder = new TextDecoder(encoding === 'utf8' ? 'utf-8' : 'gb18030', { fatal: encoding !== 'utf8' });
    this.utf8 = encoding === 'utf8' ? new Utf8Validator() : undefined;
  }

  /** Text of the chunk; throws encoding_mismatch. */
  decode(chunk: Buffer): string {
    if (this.offset === 0 && this.encoding !== 'utf8' && chunk.subarray(0, 3).equals(UTF8_BOM))
      throw fileProblem(
        'encoding_mismatch',
        this.file,
        `declared ${this.encoding} but starts with a UTF-8 byte-order mark: the file is UTF-8 (declare encoding: utf8)`,
        { byte: 0, line: 1 },
      );
    if (this.utf8) {
      const bad = this.utf8.push(chunk);
      if (bad !== -1) throw this.mismatch(chunk, bad);
    }
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw this.mismatch(chunk, this.offset);
    }
    this.lines += countNewlines(chunk);
    this.offset += chunk.length;
    return text;
  }

  end(): string {
    const cut = this.utf8?.end() ?? -1;
    try {
      if (cut === -1) return this.decoder.decode();
    } catch {}
    throw fileProblem('encoding_mismatch', this.file, `ends inside a ${this.encoding} character`, {
      byte: cut === -1 ? this.offset : cut,
      line: this.lines + 1,
    });
  }

  private mismatch(chunk: Buffer, badByte: number): FileProblemError {
    const inChunk = Math.max(0, badByte - this.offset);
    const line = this.lines + countNewlines(chunk, inChunk) + 1;
    if (this.encoding !== 'utf8')
      return fileProblem(
        'encoding_mismatch',
        this.file,
        `declared ${this.encoding} but the bytes are not ${this.encoding}`,
        {
          line,
          byte: this.offset,
        },
      );
    const looksGb = decodesAs('gb18030', chunk.subarray(chunk.lastIndexOf(NEWLINE, inChunk) + 1));
    return fileProblem(
      'encoding_mismatch',
      this.file,
      `declared utf8 but not valid UTF-8 near byte ${badByte}${looksGb ? '; the bytes read as GB18030/GBK (declare encoding: gb18030)' : ''}`,
      { line, byte: badByte },
    );
  }
}

/** Whether `bytes` decode in `label` (a character cut by the end is allowed). */
function decodesAs(label: string, bytes: Buffer): boolean {
  try {
    new TextDecoder(label, { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The mismatch decoding cannot see: GBK decodes almost any byte sequence, UTF-8 included, so a UTF-8 file
 * declared gbk/gb18030 would decode "fine" into mojibake. A file that is valid UTF-8 and holds multibyte
 * sequences is UTF-8.
 */
export class EncodingCheck {
  private readonly utf8: Utf8Validator | undefined;
  private stillUtf8 = true;

  constructor(
    private readonly encoding: TextEncoding,
    private readonly file: string,
  ) {
    this.utf8 = encoding === 'utf8' ? undefined : new Utf8Validator();
  }

  push(chunk: Buffer): void {
    if (this.utf8 && this.stillUtf8 && this.utf8.push(chunk) !== -1) this.stillUtf8 = false;
  }

  /** Throws encoding_mismatch when the whole file turned out to be UTF-8. */
  end(): void {
    if (!this.utf8 || !this.stillUtf8 || this.utf8.end() !== -1 || !this.utf8.sawNonAscii) return;
    throw fileProblem(
      'encoding_mismatch',
      this.file,
      `declared ${this.encoding} but the file is valid UTF-8 with multibyte characters: reading it as ${this.encoding} would land mojibake (declare encoding: utf8)`,
    );
  }
}
