/**
 * Patterns of personal data inside free text (complaint content, addresses, remarks, dead-letter payloads):
 * mainland mobile numbers, landlines with an area code, 18-digit resident ID numbers. Each pattern refuses to start
 * or end inside a longer run of digits, so device ids, grid codes (15 digits), component ids (16) and epoch times
 * are left alone.
 */

/** 1[3-9]x xxxx xxxx, optionally +86 / 86, digits optionally grouped by spaces or dashes. */
const mobile = String.raw`(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d){8}`;
/**
 * (0571) 8888 6666, 0571-88886666, 010 12345678, with an optional extension. Area codes as they are allocated (010,
 * 02x, 0[3-9]xx); local numbers of 7 or 8 digits not starting with 0 or 1.
 */
const areaCode = String.raw`(?:010|02\d|0[3-9]\d{2})`;
const landline = String.raw`(?:[(（]${areaCode}[)）]|${areaCode})[-\s]?[2-9]\d{2,3}[-\s]?\d{4}(?:-\d{1,5})?`;
/** GB 11643: 6-digit region, birth date 18xx–20xx, 3-digit sequence, check digit or X. */
const idNumber = String.raw`[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]`;

// Never inside an identifier: a digit run glued to letters, digits, `_` or `.`, or to `-` after one of those
// (HIK-330106-05065104505, GS-0736…), is a code, not a number someone dials. Chinese text, spaces and punctuation
// around a number are fine (张先生-13812345678 is a phone).
const personalPattern = new RegExp(
  `(?<![0-9A-Za-z_.])(?<![0-9A-Za-z_]-)(?:(${idNumber})|(${mobile})|(${landline}))(?![0-9A-Za-z_])`,
  'g',
);

/** Replaces every phone and ID number in `text` with a label saying what was there. */
export function scrubPersonalText(text: string): string {
  // Fast path: no digit run long enough for any pattern (the common case for codes and short values).
  if (!/\d{3}/.test(text)) return text;
  return text.replace(personalPattern, (_all, id: string | undefined, phone: string | undefined) =>
    id ? '[id_number]' : phone ? '[phone]' : '[landline]',
  );
}

/** Every phone or ID number found in `text` (for scans and tests). */
export function findPersonal(text: string): string[] {
  return [...text.matchAll(personalPattern)].map((m) => m[0]);
}
