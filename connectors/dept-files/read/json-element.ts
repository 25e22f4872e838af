/**
 * One json/ndjson element to a row. The hub's guards (pipelines/normalize/guards.ts) decide what is unsafe: a
 * lone surrogate (DuckDB refuses it) and a `__proto__` key (a later copy would write to Object.prototype).
 * JSON.parse is iterative in V8, so depth cannot overflow the stack here; the normalizer limits depth later.
 */
import { illFormedStringPath, prototypeKeyPath } from '../../../pipelines/normalize/guards.js';
import type { FileRow, FileValue } from './problems.js';

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

export function elementRow(line: number, text: string): FileRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { line, problem: { kind: 'invalid_json', message: (error as Error).message, raw: text } };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return {
      line,
      problem: {
        kind: 'not_an_object',
        message: `expected an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
        raw: text,
      },
    };
  if (SURROGATE_ESCAPE.test(text)) {
    const path = illFormedStringPath(value);
    if (path !== undefined)
      return {
        line,
        problem: { kind: 'invalid_unicode', message: 'a string with a lone surrogate', column: path, raw: text },
      };
  }
  if (text.includes('"__proto__"') || text.includes('"prototype"')) {
    const path = prototypeKeyPath(Buffer.from(text), value);
    if (path !== undefined)
      return {
        line,
        problem: { kind: 'unsafe_key', message: `key ${path} is refused`, column: path, raw: text.toWellFormed() },
      };
  }
  return { line, values: value as Record<string, FileValue> };
}

export function tooLarge(line: number, bytes: number, limit: number): FileRow {
  return {
    line,
    problem: { kind: 'too_large', message: `element of ${bytes} bytes or more is over max_row_bytes ${limit}` },
  };
}
