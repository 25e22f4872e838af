/**
 * Which payloads the bulk path may take (issue 12). DuckDB's JSON reader accepts text JSON.parse refuses (trailing
 * commas, NaN and Infinity), keeps the first of two equal keys where JSON.parse keeps the last, and drops the sign of
 * -0; the record path also acts on payloads before parsing (size, depth, surrogate escapes, prototype keys). One pass
 * over the bytes sends every payload where the two could disagree to the record path, and makes sure a payload is one
 * object from its first byte to its last, with distinct top-level keys, so it can be put inside a scratch line's
 * wrapper object (`{"s":…,"v":<payload>}`) without changing what the wrapper says. Everything else is standard JSON
 * both read alike.
 */
import { isUtf8 } from 'node:buffer';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './guards.js';

export interface BulkLimits {
  maxPayloadBytes: number;
  maxDepth: number;
  maxStringBytes: number;
  /**
   * A top-level key (UTF-8, unquoted) whose payloads the record path handles: the masker's mark of a payload it could
   * not mask.
   */
  recordPathKey?: Buffer;
}

const COMMA = 0x2c;
const SPACE = 0x20;
const MINUS = 0x2d;
const ZERO = 0x30;
/** Top-level keys compared for repeats; a payload with more takes the record path. */
const MAX_KEYS = 64;
const keyStarts = new Int32Array(MAX_KEYS);
const keyEnds = new Int32Array(MAX_KEYS);

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/** `word` (ASCII) at `at` in `buf`. */
function wordAt(buf: Buffer, at: number, word: string): boolean {
  if (at + word.length > buf.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** Whether the key at [start, end) equals one of the first `count` keys recorded. */
function repeatsKey(buf: Buffer, start: number, end: number, count: number): boolean {
  const size = end - start;
  for (let k = 0; k < count; k++) {
    const at = keyStarts[k]!;
    if (keyEnds[k]! - at !== size || buf[at] !== buf[start]) continue;
    if (buf.compare(buf, at, at + size, start, end) === 0) return true;
  }
  return false;
}

/**
 * What a byte inside a string asks of the scan: nothing (0: most bytes, non-ASCII ones included, whose UTF-8 is
 * checked once for the whole payload), the closing quote (1), an escape (2), or refusal (3: a raw control byte, invalid
 * in a string, and a line break would split the scratch line).
 */
const IN_STRING = new Uint8Array(256);
IN_STRING.fill(3, 0, SPACE);
IN_STRING[QUOTE] = 1;
IN_STRING[BACKSLASH] = 2;

/** True when the bulk path gives exactly what the record path would for this payload (see the module comment). */
export function bulkEligible(buf: Buffer, limits: BulkLimits): boolean {
  const length = buf.length;
  if (length === 0 || length > limits.maxPayloadBytes || length > limits.maxStringBytes) return false;
  let depth = 0;
  // The last byte outside strings that was not blank: a comma before a closing bracket is a trailing comma.
  let last = 0;
  let keys = 0;
  const recordPathKey = limits.recordPathKey;
  let first = 0;
  while (first < length && buf[first] === SPACE) first++;
  if (buf[first] !== OPEN_BRACE) return false;
  for (let i = 0; i < length; i++) {
    const b = buf[i]!;
    if (b < SPACE) {
      // Raw control bytes: a tab between tokens is valid JSON but is the scratch file's separator.
      return false;
    }
    if (b === QUOTE) {
      // A string, read to its closing quote in one tight loop (most of a payload's bytes are in strings).
      const stringStart = i + 1;
      const isKey = depth === 1 && (last === OPEN_BRACE || last === COMMA);
      let j = stringStart;
      for (;;) {
        if (j >= length) return false;
        const kind = IN_STRING[buf[j]!]!;
        if (kind === 0) {
          j++;
          continue;
        }
        if (kind === 1) break;
        if (kind === 3) return false;
        // Two spellings of one key (`"\/"` and `"/"`) would hide a repeat: keys with escapes take the record path.
        if (isKey) return false;
        const escaped = buf[j + 1] ?? 0;
        if (escaped === 0x75 /* u */) {
          const code =
            (hexDigit(buf[j + 2] ?? 0) << 12) |
            (hexDigit(buf[j + 3] ?? 0) << 8) |
            (hexDigit(buf[j + 4] ?? 0) << 4) |
            hexDigit(buf[j + 5] ?? 0);
          // An escaped ASCII character could spell a key the guards look for; a surrogate may be lone. A bad hex
          // digit makes the code negative.
          if (code < 0x80 || (code >= 0xd800 && code <= 0xdfff)) return false;
          j += 6;
        } else {
          // JSON escapes only printable ASCII; a raw control byte after the backslash would still split the line.
          if (escaped < 0x21 || escaped > 0x7e) return false;
          j += 2;
        }
      }
      // "__proto__" and "prototype" (as a key or not): the record path's prototype guard decides.
      if (j - stringStart === 9 && (wordAt(buf, stringStart, '__proto__') || wordAt(buf, stringStart, 'prototype')))
        return false;
      if (isKey) {
        if (keys === MAX_KEYS || repeatsKey(buf, stringStart, j, keys)) return false;
        if (
          recordPathKey !== undefined &&
          j - stringStart === recordPathKey.length &&
          buf.compare(recordPathKey, 0, recordPathKey.length, stringStart, j) === 0
        )
          return false;
        keyStarts[keys] = stringStart;
        keyEnds[keys++] = j;
      }
      last = QUOTE;
      i = j;
      continue;
    }
    switch (b) {
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (++depth >= limits.maxDepth) return false;
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        if (last === COMMA) return false;
        // The object that opened at the first byte closes only at the last one: one value, nothing after it.
        if (--depth === 0) {
          for (let j = i + 1; j < length; j++) if (buf[j] !== SPACE) return false;
        }
        break;
      case MINUS:
        if (buf[i + 1] === ZERO) {
          const after = buf[i + 2];
          // -0 and -0.000…: JSON.parse keeps the sign, DuckDB does not. Any other -0.x is not zero.
          if (after === undefined || after < 0x31 || after > 0x39) return false;
        }
        break;
      case 0x74: // true
        if (!wordAt(buf, i, 'true')) return false;
        i += 3;
        break;
      case 0x66: // false
        if (!wordAt(buf, i, 'false')) return false;
        i += 4;
        break;
      case 0x6e: // null
        if (!wordAt(buf, i, 'null')) return false;
        i += 3;
        break;
      case 0x65: // e, E: only an exponent, right after a digit
      case 0x45: {
        const before = buf[i - 1] ?? 0;
        if (before < ZERO || before > 0x39) return false;
        break;
      }
      default:
        // Digits, signs, the decimal point, colon, comma, blank: anything else is not JSON both accept alike.
        if (!((b >= ZERO && b <= 0x39) || b === 0x2b || b === 0x2e || b === 0x3a || b === COMMA || b === SPACE))
          return false;
    }
    if (b !== SPACE) last = b;
  }
  if (depth !== 0) return false;
  // Native and quick on ASCII: cheaper than noting each non-ASCII byte in the loop above.
  return isUtf8(buf);
}
