/**
 * Validates a delivered record against the fields its data resource declares in the catalog (docs/feeds.md
 * "Record validation"): a date that does not exist or a number that is not one makes the record invalid, and the
 * dead letter names the field and why.
 */
import type { ResourceField } from '../../schemas/index.js';
import type { ReasonIssue } from './dead-letter.js';
import { parseSourceTime } from './time.js';

/** A declared field with its pattern compiled once. */
export interface CompiledField {
  field: ResourceField;
  pattern: RegExp | undefined;
}

export function compileFields(fields: readonly ResourceField[]): CompiledField[] {
  return fields.map((field) => ({
    field,
    pattern: field.pattern === undefined ? undefined : new RegExp(`^(?:${field.pattern})$`, 'u'),
  }));
}

const integerText = /^[+-]?\d+$/;
const decimalText = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const dateText = /^(\d{4})(?:[-/](\d{1,2})[-/](\d{1,2})|(\d{2})(\d{2})|年(\d{1,2})月(\d{1,2})日)$/;
const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const booleans = new Set(['true', 'false', '是', '否', '1', '0', 'Y', 'N', 'y', 'n']);

/** True when `text` names a real calendar day in one of the accepted date formats. */
export function isCalendarDate(text: string): boolean {
  const m = dateText.exec(text);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2] ?? m[4] ?? m[6]);
  const day = Number(m[3] ?? m[5] ?? m[7]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= (month === 2 && leap ? 29 : daysInMonth[month - 1]!);
}

function typeProblem(compiled: CompiledField, value: unknown): string | undefined {
  const { field, pattern } = compiled;
  if (typeof value === 'object')
    return `expected a ${field.type} value, got ${Array.isArray(value) ? 'a list' : 'an object'}`;
  const text = typeof value === 'string' ? value.trim() : String(value);
  switch (field.type) {
    case 'integer':
      if (typeof value === 'number' ? !Number.isSafeInteger(value) : !integerText.test(text))
        return `expected an integer, got ${JSON.stringify(value)}`;
      break;
    case 'decimal':
      if (typeof value === 'number' ? !Number.isFinite(value) : !decimalText.test(text))
        return `expected a decimal number, got ${JSON.stringify(value)}`;
      break;
    case 'date':
      if (!isCalendarDate(text)) return `expected a date that exists (e.g. 2026-08-01), got ${JSON.stringify(value)}`;
      break;
    case 'datetime':
      if (Number.isNaN(parseSourceTime(typeof value === 'number' ? value : text)))
        return `expected a date and time that exist (e.g. 2026-08-01 09:30:00), got ${JSON.stringify(value)}`;
      break;
    case 'boolean':
      if (typeof value !== 'boolean' && !booleans.has(text))
        return `expected 是/否 or true/false, got ${JSON.stringify(value)}`;
      break;
    case 'code':
    case 'text':
      break;
  }
  if (field.max_length !== undefined && text.length > field.max_length)
    return `longer than ${field.max_length} characters`;
  if (pattern && !pattern.test(text)) return `does not match the pattern ${field.pattern}`;
  return undefined;
}

/** Every problem of `record` against the declared fields (empty when valid). */
export function recordIssues(
  record: Record<string, unknown>,
  fields: readonly CompiledField[],
  at: string,
): ReasonIssue[] {
  const issues: ReasonIssue[] = [];
  for (const compiled of fields) {
    const name = compiled.field.name;
    const value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (value === undefined || value === null || value === '') {
      if (compiled.field.required)
        issues.push({ path: `${at}.${name}`, message: 'required field is missing or empty' });
      continue;
    }
    const problem = typeProblem(compiled, value);
    if (problem) issues.push({ path: `${at}.${name}`, message: problem });
  }
  return issues;
}
