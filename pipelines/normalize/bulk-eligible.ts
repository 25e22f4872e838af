/**
 * Which payloads the bulk path may take (issue 12). DuckDB's JSON reader accepts text JSON.parse refuses (trailing
 * commas, NaN and Infinity), keeps the first of two equal keys where JSON.parse keeps the last, and drops the sign of
 * -0; the record path also acts on payloads before parsing (size, depth, surrogate escapes, prototype keys). One pass
 * over the bytes sends every payload where the two could disagree to the record path, and makes sure a payload is one
 * object from its first byte to its last, with distinct keys in each of its objects (nested ones too: a path read
 * through one takes the same value on both), so it can be put inside a scratch line's wrapper object
 * (`{"a":[…],"v":<payload>}`) without changing what the wrapper says. Everything else is standard JSON both read
 * alike.
 */
import { isUtf8 } from 'node:buffer';
import { CLASSED_SLOTS, KINDED_TOPS, STRING_CLASS_CHARS, StringClass, ValueKind } from '../mapping/bulk-sql.js';
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
const COLON = 0x3a;
const ZERO = 0x30;
/** Top-level keys compared for repeats; a payload with more takes the record path. */
const MAX_KEYS = 64;
const keyStarts = new Int32Array(MAX_KEYS);
const keyEnds = new Int32Array(MAX_KEYS);
const keySlots = new Int32Array(MAX_KEYS);

/** Notes top-level key `n`, at [start, end), whose value goes to `slot` (-1: none). */
function noteKey(n: number, slot: number, start: number, end: number): void {
  keySlots[n] = slot;
  keyStarts[n] = start;
  keyEnds[n] = end;
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

/** `word` (ASCII) at `at` in `buf`, before `end`. */
function wordAt(buf: Buffer, at: number, end: number, word: string): boolean {
  if (at + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** Keys of the objects below the top level that are open while a payload is read (their bounds), for repeats. */
const MAX_NESTED_KEYS = 256;
const nestedStarts = new Int32Array(MAX_NESTED_KEYS);
const nestedEnds = new Int32Array(MAX_NESTED_KEYS);
/** Per depth: where the keys of the object open at that depth begin in nestedStarts, or -1 for an array. */
const containerKeys = new Int32Array(1024);

/** Whether the key at [start, end) equals one of the keys [from, count) noted in `starts` and `ends`. */
function repeatsKey(
  buf: Buffer,
  start: number,
  end: number,
  starts: Int32Array,
  ends: Int32Array,
  from: number,
  count: number,
): boolean {
  const size = end - start;
  for (let k = from; k < count; k++) {
    const at = starts[k]!;
    if (ends[k]! - at !== size || buf[at] !== buf[start]) continue;
    if (buf.compare(buf, at, at + size, start, end) === 0) return true;
  }
  return false;
}

/**
 * What a byte inside a string asks of the scan: nothing (0: most bytes), the closing quote (1), an escape (2), refusal
 * (3: a raw control byte, invalid in a string, and a line break would split the scratch line), or to note that the
 * payload's UTF-8 must be checked (4: a non-ASCII byte; checked once for the whole payload, natively).
 */
const IN_STRING = new Uint8Array(256);
IN_STRING.fill(3, 0, SPACE);
IN_STRING[QUOTE] = 1;
IN_STRING[BACKSLASH] = 2;
IN_STRING.fill(4, 0x80);

/**
 * The end of the run of plain string bytes (IN_STRING 0) from `j`: a function of its own, so the tight loop is
 * compiled with registers of its own (inline in bulkKinds it reloaded the buffer on every byte).
 */
function plainRun(buf: Buffer, j: number, end: number): number {
  while (j < end && IN_STRING[buf[j]!] === 0) j++;
  return j;
}

/**
 * Of a string byte, for its class (bulk-sql.ts StringClass): 0 for a byte that is not plain (IN_STRING), else 8 and
 * the bits of the classes it may be in: 1, a digit; 2, a word's; 4, a word's first.
 */
const CHAR_BITS = new Uint8Array(256);
for (let b = 0; b < 256; b++) if (IN_STRING[b] === 0) CHAR_BITS[b] = 8;
for (const [chars, bit] of [
  [STRING_CLASS_CHARS.digits, 1],
  [STRING_CLASS_CHARS.wordRest, 2],
  [STRING_CLASS_CHARS.wordFirst, 4],
] as const) {
  for (let i = 0; i < chars.length; i++) CHAR_BITS[chars.charCodeAt(i)]! |= bit;
}
/** Where the kinded string values of the payload being scanned start, by slot (those of `stringSlots`). */
const stringStarts = new Int32Array(CLASSED_SLOTS);

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/**
 * Whether the string at `s` (to its closing quote) has the local time form time-format.ts AUTO_LOCAL_FAST_REGEX
 * reads fast: `[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,3})?)?`. Each
 * byte is read only once those before it are of the form: none past the closing quote, which comes before `end`.
 */
function localTimeAt(buf: Buffer, s: number, end: number): boolean {
  if (s + 16 >= end) return false;
  const first = buf[s]!;
  if (first < 0x31 || first > 0x39 || !isDigit(buf[s + 1]!) || !isDigit(buf[s + 2]!) || !isDigit(buf[s + 3]!))
    return false;
  if (buf[s + 4] !== MINUS || !isDigit(buf[s + 5]!) || !isDigit(buf[s + 6]!) || buf[s + 7] !== MINUS) return false;
  if (!isDigit(buf[s + 8]!) || !isDigit(buf[s + 9]!) || (buf[s + 10] !== SPACE && buf[s + 10] !== 0x54)) return false;
  const hourTens = buf[s + 11]!;
  const hourUnits = buf[s + 12]!;
  if (
    !(hourTens === 0x30 || hourTens === 0x31
      ? isDigit(hourUnits)
      : hourTens === 0x32 && hourUnits >= 0x30 && hourUnits <= 0x33)
  )
    return false;
  if (buf[s + 13] !== COLON || buf[s + 14]! < 0x30 || buf[s + 14]! > 0x35 || !isDigit(buf[s + 15]!)) return false;
  let at = s + 16;
  if (buf[at] === QUOTE) return true;
  if (buf[at] !== COLON || buf[at + 1]! < 0x30 || buf[at + 1]! > 0x35 || !isDigit(buf[at + 2]!)) return false;
  at += 3;
  if (buf[at] === QUOTE) return true;
  if (buf[at] !== 0x2e) return false;
  let digits = 0;
  while (digits < 3 && isDigit(buf[at + 1]!)) {
    at++;
    digits++;
  }
  return digits > 0 && buf[at + 1] === QUOTE;
}

/**
 * The classes of the strings that start at stringStarts for the slots in `slots` (bit i: slot i): those of `timed`
 * that have the local time form are StringClass.localTime; otherwise those of `classed` are read to the first byte
 * that is not plain, and classed only if that is their closing quote (no escape, no other byte on the way). Run after
 * the scan, on an eligible payload: its strings all close before `end`.
 */
function classesOf(buf: Buffer, slots: number, classed: number, timed: number, end: number): number {
  let classes = 0;
  for (let slot = 0; slots !== 0; slot++, slots >>>= 1) {
    if ((slots & 1) === 0) continue;
    const start = stringStarts[slot]!;
    if (((timed >>> slot) & 1) !== 0 && localTimeAt(buf, start, end)) {
      classes |= StringClass.localTime << (2 * slot);
      continue;
    }
    if (((classed >>> slot) & 1) === 0) continue;
    let bits = 15;
    let j = start;
    while (j < end) {
      const c = CHAR_BITS[buf[j]!]!;
      if (c === 0) break;
      bits &= c;
      j++;
    }
    if (j === start || buf[j] !== QUOTE) continue;
    const cls =
      (bits & 1) !== 0
        ? StringClass.digits
        : (bits & 2) !== 0 && (CHAR_BITS[buf[start]!]! & 4) !== 0
          ? StringClass.word
          : StringClass.none;
    classes |= cls << (2 * slot);
  }
  // Unsigned: slot 15's bits are the sign bit.
  return classes >>> 0;
}

/** The classes of the last payload bulkKinds found eligible (see there). */
let lastClasses = 0;

/**
 * The string classes (bulk-sql.ts StringClass × 4^slot) of the kinded values of the last payload bulkKinds took
 * (returned kinds ≥ 0); a value that is not a string of one of the classes counts 0.
 */
export function lastStringClasses(): number {
  return lastClasses;
}

/** A plan's kinded top-level keys (bulk-sql.ts KINDED_TOPS), as UTF-8, by slot. */
export type KindedTops = readonly Buffer[];
const NO_TOPS: KindedTops = [];
/** A kind in slot i weighs 8^i in the kinds number. */
const SLOT_WEIGHTS = Array.from({ length: KINDED_TOPS }, (_, i) => 8 ** i);
/** The kind of a value by its first byte (0: a byte no value starts with here: null, spaces and colons). */
const KIND_OF_FIRST = new Uint8Array(256);
KIND_OF_FIRST[QUOTE] = ValueKind.string;
for (let digit = 0x30; digit <= 0x39; digit++) KIND_OF_FIRST[digit] = ValueKind.number;
KIND_OF_FIRST[0x2d] = ValueKind.number;
KIND_OF_FIRST[0x74] = ValueKind.boolean;
KIND_OF_FIRST[0x66] = ValueKind.boolean;
KIND_OF_FIRST[OPEN_BRACE] = ValueKind.object;
KIND_OF_FIRST[OPEN_BRACKET] = ValueKind.array;

/** The byte at `at` when it is before `end`, else 0 (the payload may be a range of a larger buffer). */
function byteAt(buf: Buffer, at: number, end: number): number {
  return at < end ? buf[at]! : 0;
}

/** True when the bulk path gives exactly what the record path would for this payload (see the module comment). */
export function bulkEligible(buf: Buffer, limits: BulkLimits): boolean {
  return bulkKinds(buf, limits, NO_TOPS) >= 0;
}

/** The top-level keys of the last eligible payload, in order, with their slots (see bulkKinds). */
class KeyShape {
  tops: KindedTops = [];
  limits: BulkLimits | undefined;
  count = 0;
  readonly slots = new Int32Array(MAX_KEYS);
  private readonly starts = new Int32Array(MAX_KEYS + 1);
  private bytes = Buffer.alloc(1024);

  reset(tops: KindedTops, limits: BulkLimits): void {
    this.tops = tops;
    this.limits = limits;
    this.count = 0;
  }

  /**
   * Where key `n` of the shape, read at `start`, closes: the index of its closing quote, or -1 when the key there is
   * another. The shape's keys held no escape, so the key is read without scanning it byte by byte.
   */
  keyAt(n: number, buf: Buffer, start: number, end: number): number {
    const at = this.starts[n]!;
    const size = this.starts[n + 1]! - at;
    const close = start + size;
    if (close >= end || buf[close] !== QUOTE) return -1;
    const bytes = this.bytes;
    for (let i = 0; i < size; i++) if (bytes[at + i] !== buf[start + i]) return -1;
    return close;
  }

  /** Takes the `count` keys just scanned (keyStarts, keyEnds, keySlots) as the shape. */
  remember(buf: Buffer, count: number): void {
    let size = 0;
    for (let n = 0; n < count; n++) size += keyEnds[n]! - keyStarts[n]!;
    if (size > this.bytes.length) this.bytes = Buffer.alloc(Math.max(size, 2 * this.bytes.length));
    const bytes = this.bytes;
    let at = 0;
    for (let n = 0; n < count; n++) {
      this.starts[n] = at;
      // Byte by byte: a source whose keys vary (optional fields) changes shape often, and keys are short.
      for (let i = keyStarts[n]!, end = keyEnds[n]!; i < end; i++) bytes[at++] = buf[i]!;
      this.slots[n] = keySlots[n]!;
    }
    this.starts[count] = at;
    this.count = count;
  }
}
const shape = new KeyShape();

/** The slot of the key at [start, end) among `tops`, or -1. */
function slotOf(buf: Buffer, start: number, end: number, tops: KindedTops): number {
  const size = end - start;
  for (let slot = 0; slot < tops.length; slot++) {
    const top = tops[slot]!;
    if (top.length !== size) continue;
    let i = 0;
    while (i < size && top[i] === buf[start + i]) i++;
    if (i === size) return slot;
  }
  return -1;
}

/**
 * -1 when the payload must take the record path (bulkEligible); otherwise the kinds of the values of `tops` (ValueKind
 * ×  8^slot; absent keys and JSON null count 0), which the bulk statement reads beside their text. The payload is
 * `buf[start, end)`: a message read in place in the bus's buffer, without a view of its own. The classes of the
 * strings of the slots in `classed` and `timed` (bit i: slot i, below CLASSED_SLOTS) are then lastStringClasses().
 */
export function bulkKinds(
  buf: Buffer,
  limits: BulkLimits,
  tops: KindedTops,
  start = 0,
  end = buf.length,
  classed = 0,
  timed = 0,
): number {
  const size = end - start;
  if (size <= 0 || size > limits.maxPayloadBytes || size > limits.maxStringBytes) return -1;
  // A byte of a multi-byte character was seen (in a string: anywhere else it is refused): UTF-8 is then checked.
  let nonAscii = false;
  let kinds = 0;
  // The slots of the kinded values that are strings (their classes are read after the scan), as bits.
  let stringSlots = 0;
  // The slot of the key whose value comes next, or -1.
  let valueSlot = -1;
  // Payloads of a source repeat their keys in the same order: while this one's keys are the last eligible payload's
  // (for the same tops and limits), each key costs one comparison instead of its scan and the repeat and slot searches.
  if (shape.tops !== tops || shape.limits !== limits) shape.reset(tops, limits);
  let following = true;
  let depth = 0;
  // Keys of the open nested objects noted in nestedStarts: an object's keys are all different at any depth (DuckDB's
  // json_extract takes the first of two, JSON.parse the last).
  let nested = 0;
  // The last byte outside strings that was not blank: a comma before a closing bracket is a trailing comma.
  let last = 0;
  let keys = 0;
  const recordPathKey = limits.recordPathKey;
  let first = start;
  while (first < end && buf[first] === SPACE) first++;
  if (byteAt(buf, first, end) !== OPEN_BRACE) return -1;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < SPACE) {
      // Raw control bytes: a tab between tokens is valid JSON but is the scratch file's separator.
      return -1;
    }
    if (valueSlot >= 0 && b !== SPACE && b !== COLON) {
      // An empty string is a kind of its own: the record path takes it as absent, and a key read as a number
      // (bulk-sql.ts numberPaths) has no text to tell it by.
      const kind = b === QUOTE && byteAt(buf, i + 1, end) === QUOTE ? ValueKind.emptyString : KIND_OF_FIRST[b]!;
      kinds += kind * SLOT_WEIGHTS[valueSlot]!;
      if (kind === ValueKind.string && (((classed | timed) >>> valueSlot) & 1) !== 0) {
        stringStarts[valueSlot] = i + 1;
        stringSlots |= 1 << valueSlot;
      }
      valueSlot = -1;
    }
    if (b === QUOTE) {
      // A string, read to its closing quote in one tight loop (most of a payload's bytes are in strings).
      const stringStart = i + 1;
      const isKey = depth === 1 && (last === OPEN_BRACE || last === COMMA);
      const isNestedKey = depth > 1 && containerKeys[depth]! >= 0 && (last === OPEN_BRACE || last === COMMA);
      if (isKey && following && keys < shape.count) {
        // The shape's next key, compared in place without a scan: it was scanned in an earlier payload, where it
        // held no escape and was distinct from the keys before it (the same as here) and not the record path's key.
        // Its bytes, between two quotes, are whole UTF-8 characters there as here: nothing of it to check again.
        const close = shape.keyAt(keys, buf, stringStart, end);
        if (close >= 0) {
          valueSlot = shape.slots[keys]!;
          noteKey(keys++, valueSlot, stringStart, close);
          last = QUOTE;
          i = close;
          continue;
        }
      }
      let j = stringStart;
      for (;;) {
        j = plainRun(buf, j, end);
        if (j >= end) return -1;
        const kind = IN_STRING[buf[j]!]!;
        if (kind === 4) {
          // Multi-byte characters come in runs (Chinese text): skipped in a loop of their own.
          nonAscii = true;
          j++;
          while (j < end && buf[j]! >= 0x80) j++;
          continue;
        }
        if (kind === 1) break;
        if (kind === 3) return -1;
        // Two spellings of one key (`"\/"` and `"/"`) would hide a repeat: keys with escapes take the record path.
        if (isKey || isNestedKey) return -1;
        const escaped = byteAt(buf, j + 1, end);
        if (escaped === 0x75 /* u */) {
          const code =
            (hexDigit(byteAt(buf, j + 2, end)) << 12) |
            (hexDigit(byteAt(buf, j + 3, end)) << 8) |
            (hexDigit(byteAt(buf, j + 4, end)) << 4) |
            hexDigit(byteAt(buf, j + 5, end));
          // An escaped ASCII character could spell a key the guards look for; a surrogate may be lone. A bad hex
          // digit makes the code negative.
          if (code < 0x80 || (code >= 0xd800 && code <= 0xdfff)) return -1;
          j += 6;
        } else {
          // JSON escapes only printable ASCII; a raw control byte after the backslash would still split the line.
          if (escaped < 0x21 || escaped > 0x7e) return -1;
          j += 2;
        }
      }
      // "__proto__" and "prototype" (as a key or not): the record path's prototype guard decides.
      if (
        j - stringStart === 9 &&
        (wordAt(buf, stringStart, end, '__proto__') || wordAt(buf, stringStart, end, 'prototype'))
      )
        return -1;
      if (isKey) {
        if (keys === MAX_KEYS) return -1;
        // Not the shape's next key (keyAt above): the keys from here on are searched.
        following = false;
        if (repeatsKey(buf, stringStart, j, keyStarts, keyEnds, 0, keys)) return -1;
        if (
          recordPathKey !== undefined &&
          j - stringStart === recordPathKey.length &&
          buf.compare(recordPathKey, 0, recordPathKey.length, stringStart, j) === 0
        )
          return -1;
        valueSlot = tops.length > 0 ? slotOf(buf, stringStart, j, tops) : -1;
        noteKey(keys++, valueSlot, stringStart, j);
      } else if (isNestedKey) {
        if (nested === MAX_NESTED_KEYS) return -1;
        if (repeatsKey(buf, stringStart, j, nestedStarts, nestedEnds, containerKeys[depth]!, nested)) return -1;
        nestedStarts[nested] = stringStart;
        nestedEnds[nested++] = j;
      }
      last = QUOTE;
      i = j;
      continue;
    }
    switch (b) {
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (++depth >= limits.maxDepth || depth === containerKeys.length) return -1;
        containerKeys[depth] = b === OPEN_BRACE ? nested : -1;
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        if (last === COMMA) return -1;
        // The closed object's keys are no longer open.
        if (containerKeys[depth]! >= 0) nested = containerKeys[depth]!;
        // The object that opened at the first byte closes only at the last one: one value, nothing after it.
        if (--depth === 0) {
          for (let j = i + 1; j < end; j++) if (buf[j] !== SPACE) return -1;
        }
        break;
      case MINUS:
        if (byteAt(buf, i + 1, end) === ZERO) {
          const after = byteAt(buf, i + 2, end);
          // -0 and -0.000…: JSON.parse keeps the sign, DuckDB does not. Any other -0.x is not zero.
          if (after < 0x31 || after > 0x39) return -1;
        }
        break;
      case 0x74: // true
        if (!wordAt(buf, i, end, 'true')) return -1;
        i += 3;
        break;
      case 0x66: // false
        if (!wordAt(buf, i, end, 'false')) return -1;
        i += 4;
        break;
      case 0x6e: // null
        if (!wordAt(buf, i, end, 'null')) return -1;
        i += 3;
        break;
      case 0x65: // e, E: only an exponent, right after a digit
      case 0x45: {
        const before = i > start ? buf[i - 1]! : 0;
        if (before < ZERO || before > 0x39) return -1;
        break;
      }
      default:
        // Digits, signs, the decimal point, colon, comma, blank: anything else is not JSON both accept alike.
        if (!((b >= ZERO && b <= 0x39) || b === 0x2b || b === 0x2e || b === COLON || b === COMMA || b === SPACE))
          return -1;
    }
    if (b !== SPACE) last = b;
  }
  if (depth !== 0) return -1;
  if (nonAscii && !isUtf8(start === 0 && end === buf.length ? buf : buf.subarray(start, end))) return -1;
  if (!following || keys !== shape.count) shape.remember(buf, keys);
  lastClasses = stringSlots === 0 ? 0 : classesOf(buf, stringSlots, classed, timed, end);
  return kinds;
}
