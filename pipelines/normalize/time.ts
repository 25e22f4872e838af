/**
 * Source timestamps → canonical UTC ISO strings. Local times without a zone are taken in the source zone
 * (Asia/Shanghai, UTC+8 without DST since 1991, so a fixed offset is exact for any plausible event time).
 */

export const SHANGHAI_OFFSET_MS = 8 * 3600_000;

const localPattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;
const zonedPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Parses `YYYY-MM-DD HH:mm[:ss[.SSS]]` (local, offset given in ms), ISO 8601 with a zone, or epoch milliseconds.
 * Returns epoch ms, or NaN when the value is not a time or names a day that does not exist (2026-02-30).
 */
export function parseSourceTime(value: unknown, sourceOffsetMs: number = SHANGHAI_OFFSET_MS): number {
  // ±8.64e15 ms is the range a JS Date can hold; a nanosecond epoch lies beyond it.
  if (typeof value === 'number') return Number.isFinite(value) && Math.abs(value) <= 8.64e15 ? value : Number.NaN;
  if (typeof value !== 'string') return Number.NaN;
  const local = localPattern.exec(value);
  if (local) {
    const year = +local[1]!;
    const month = +local[2]!;
    const day = +local[3]!;
    const hour = +local[4]!;
    const minute = +local[5]!;
    const second = local[6] ? +local[6] : 0;
    if (month < 1 || month > 12 || day < 1) return Number.NaN;
    const lastDay = month === 2 && isLeap(year) ? 29 : daysInMonth[month - 1]!;
    if (day > lastDay || hour > 23 || minute > 59 || second > 59) return Number.NaN;
    const fraction = local[7] ? Number(`0.${local[7]}`) * 1000 : 0;
    return Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(fraction) - sourceOffsetMs;
  }
  if (zonedPattern.test(value)) {
    // Date.parse rolls 2026-02-30 over to March; re-check the calendar day it names.
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return Number.NaN;
    const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
    if (m < 1 || m > 12 || d < 1 || d > (m === 2 && isLeap(y) ? 29 : daysInMonth[m - 1]!)) return Number.NaN;
    return ms;
  }
  return Number.NaN;
}

/** Asia/Shanghai calendar date (YYYY-MM-DD) of an instant: the lake's `dt`. */
export function shanghaiDate(epochMs: number): string {
  // Per-record hot path, and consecutive records mostly share a day: remember the last one.
  const day = Math.floor((epochMs + SHANGHAI_OFFSET_MS) / 86_400_000);
  if (day !== lastDay) {
    lastDayText = new Date(epochMs + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
    lastDay = day;
  }
  return lastDayText;
}
let lastDay = Number.NaN;
let lastDayText = '';
