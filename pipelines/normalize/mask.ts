import { createHash } from 'node:crypto';

/** Salted SHA-256 of a personal identifier (a caller's phone): joinable across records, never reversible without the salt. */
export function hashPersonal(salt: string, value: string): string {
  return createHash('sha256').update(salt).update('\u0000').update(value.replace(/[\s-]/g, '')).digest('hex');
}

// Mainland mobile and landline-like digit runs, and CJK names' characters: what a dead letter of an unparseable
// personal-data payload must not keep in clear.
const longDigits = /\d(?:[\s-]?\d){6,}/g;
const cjk = /[\u3400-\u9fff]/g;

/** A readable but anonymous preview of text that could not be parsed far enough to redact field by field. */
export function scrubText(text: string): string {
  return text.replace(longDigits, (digits) => digits.replace(/\d/g, '#')).replace(cjk, '＊');
}
