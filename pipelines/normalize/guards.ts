/**
 * Checks a raw payload must pass before any recursive work touches it: JSON.stringify, zod and the mappings walk
 * objects recursively, so a 100,000-level nesting would overflow the stack; DuckDB refuses a lone UTF-16 surrogate
 * and would reject a whole flush for it. These run on every message, so they stay cheap on ordinary payloads and
 * only scan byte by byte when a payload could break a limit at all.
 */
import { isUtf8 } from 'node:buffer';

export interface StructureLimits {
  /** Deepest nesting of objects and arrays accepted. */
  maxDepth: number;
  /** Longest JSON string (in bytes, escapes included) accepted. */
  maxStringBytes: number;
}

export interface StructureProblem {
  reason_code: 'invalid_utf8' | 'too_deep' | 'string_too_long';
  message: string;
}

export const OPEN_BRACE = 0x7b;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACE = 0x7d;
export const CLOSE_BRACKET = 0x5d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** Counts `byte` in `buf` up to `limit` occurrences (native indexOf, no per-byte JS loop). */
function countUpTo(buf: Buffer, byte: number, limit: number): number {
  let n = 0;
  for (let at = buf.indexOf(byte); at !== -1 && n < limit; at = buf.indexOf(byte, at + 1)) n++;
  return n;
}

/**
 * Why `buf` must not be parsed, or undefined. Invalid UTF-8 is refused outright (decoding would turn it into
 * U+FFFD and land altered text). The byte scan for depth and string length runs only when the payload holds enough
 * brackets to be too deep, or is longer than the string limit.
 */
export function structureProblem(buf: Buffer, limits: StructureLimits): StructureProblem | undefined {
  if (!isUtf8(buf))
    return { reason_code: 'invalid_utf8', message: `payload is not valid UTF-8 (${firstInvalid(buf)})` };
  const mayBeDeep =
    countUpTo(buf, OPEN_BRACE, limits.maxDepth + 1) + countUpTo(buf, OPEN_BRACKET, limits.maxDepth + 1) >
    limits.maxDepth;
  if (!mayBeDeep && buf.length <= limits.maxStringBytes) return undefined;
  let depth = 0;
  let inString = false;
  let stringStart = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) {
        inString = false;
        if (i - stringStart > limits.maxStringBytes)
          return {
            reason_code: 'string_too_long',
            message: `a string of ${i - stringStart} bytes at byte ${stringStart} exceeds landing.max_string_bytes ${limits.maxStringBytes}`,
          };
      }
    } else if (b === QUOTE) {
      inString = true;
      stringStart = i + 1;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > limits.maxDepth)
        return {
          reason_code: 'too_deep',
          message: `nesting deeper than landing.max_depth ${limits.maxDepth} at byte ${i}`,
        };
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--;
  }
  if (inString && buf.length - stringStart > limits.maxStringBytes)
    return {
      reason_code: 'string_too_long',
      message: `an unterminated string of ${buf.length - stringStart} bytes exceeds landing.max_string_bytes ${limits.maxStringBytes}`,
    };
  return undefined;
}

/** Byte position of the first invalid UTF-8 sequence, for the dead letter's message. */
function firstInvalid(buf: Buffer): string {
  let lo = 0;
  let hi = buf.length;
  // isUtf8 of a prefix fails from the first bad sequence on (or a sequence cut by the prefix end, hence the slack).
  while (hi - lo > 4) {
    const mid = (lo + hi) >>> 1;
    if (isUtf8(buf.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  return `first bad byte near ${lo}`;
}

/** True when the payload text may hold a `\uD800`–`\uDFFF` escape: only then can a parsed string be ill-formed. */
export function mayHoldSurrogateEscape(buf: Buffer): boolean {
  for (let at = buf.indexOf('\\u'); at !== -1; at = buf.indexOf('\\u', at + 2)) {
    const c = buf[at + 2];
    if ((c === 0x64 || c === 0x44) /* d D */ && /[89a-fA-F]/.test(String.fromCharCode(buf[at + 3] ?? 0))) return true;
  }
  return false;
}

/**
 * Path of the first string (value or key) holding a lone surrogate, or undefined. Iterative, so it is safe on any
 * depth; callers limit depth first anyway.
 */
export function illFormedStringPath(value: unknown, root = ''): string | undefined {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (!node.isWellFormed()) return path || '(root)';
    } else if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) stack.push([node[i], `${path}[${i}]`]);
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        const at = path ? `${path}.${key}` : key;
        if (!key.isWellFormed()) return at.toWellFormed();
        stack.push([(node as Record<string, unknown>)[key], at]);
      }
    }
  }
  return undefined;
}

/**
 * Path of a key that only an attack sends: `__proto__` anywhere, or `constructor.prototype`. JSON.parse keeps them
 * as plain data, but any later `target[key] = value` copy would write to Object.prototype.
 */
export function prototypeKeyPath(buf: Buffer, value: unknown): string | undefined {
  if (buf.indexOf('"__proto__"') === -1 && buf.indexOf('"prototype"') === -1) return undefined;
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    for (const [key, child] of entries) {
      const at = path ? `${path}.${key}` : key;
      if (key === '__proto__' || (key === 'prototype' && path.endsWith('constructor'))) return at;
      stack.push([child, at]);
    }
  }
  return undefined;
}
