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

/** True when the bulk path gives exactly what the record path would for this payload (see the module comment). */
export function bulkEligible(buf: Buffer, limits: BulkLimits): boolean {
  const length = buf.length;
  if (length === 0 || length > limits.maxPayloadBytes || length > limits.maxStringBytes) return false;
  let depth = 0;
  let inString = false;
  let nonAscii = false;
  // The last byte outside strings that was not blank: a comma before a closing bracket is a trailing comma.
  let last = 0;
  // A top-level key being read (its first byte), and the keys read so far.
  let keyStart = -1;
  let keys = 0;
  let stringStart = 0;
  let first = 0;
  while (first < length && buf[first] === SPACE) first++;
  if (buf[first] !== OPEN_BRACE) return false;
  for (let i = 0; i < length; i++) {
    const b = buf[i]!;
    if (b < SPACE) {
      // Raw control bytes: invalid inside strings, and a line break would split the scratch line. A tab between
      // tokens is valid JSON but is the scratch file's separator.
      return false;
    }
    if (inString) {
      if (b === QUOTE) {
        inString = false;
        // "__proto__" and "prototype" (as a key or not): the record path's prototype guard decides.
        if (i - stringStart === 9 && (wordAt(buf, stringStart, '__proto__') || wordAt(buf, stringStart, 'prototype')))
          return false;
        if (keyStart >= 0) {
          if (keys === MAX_KEYS || repeatsKey(buf, keyStart, i, keys)) return false;
          keyStarts[keys] = keyStart;
          keyEnds[keys++] = i;
          keyStart = -1;
        }
      } else if (b === BACKSLASH) {
        // Two spellings of one key (`"\/"` and `"/"`) would hide a repeat: keys with escapes take the record path.
        if (keyStart >= 0) return false;
        if (buf[i + 1] === 0x75 /* u */) {
          const code =
            (hexDigit(buf[i + 2] ?? 0) << 12) |
            (hexDigit(buf[i + 3] ?? 0) << 8) |
            (hexDigit(buf[i + 4] ?? 0) << 4) |
            hexDigit(buf[i + 5] ?? 0);
          // An escaped ASCII character could spell a key the guards look for; a surrogate may be lone.
          if (code < 0x80 || (code >= 0xd800 && code <= 0xdfff)) return false;
          i += 5;
        } else i++;
      } else if (b >= 0x80) nonAscii = true;
      continue;
    }
    switch (b) {
      case QUOTE:
        inString = true;
        stringStart = i + 1;
        if (depth === 1 && (last === OPEN_BRACE || last === COMMA)) keyStart = i + 1;
        break;
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
  if (inString || depth !== 0) return false;
  return !nonAscii || isUtf8(buf);
}
