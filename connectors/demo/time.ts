/**
 * Asia/Shanghai calendar arithmetic (UTC+8, no DST). A "day" is an integer: days since 1970-01-01 of the
 * Shanghai calendar date, so instant `ms` belongs to day `floor((ms + 8h) / 24h)`.
 */

export const DAY_MS = 86_400_000;
export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

export type Grain = 'month' | 'quarter' | 'year';

/** A period of a grain: days [start, end] inclusive. */
export interface Period {
  grain: Grain;
  period: string;
  start: number;
  end: number;
}

export function dayOf(ms: number): number {
  return Math.floor((ms + SHANGHAI_OFFSET_MS) / DAY_MS);
}

export function dayStartMs(day: number): number {
  return day * DAY_MS - SHANGHAI_OFFSET_MS;
}

const dateCache = new Map<number, string>();

/** 'YYYY-MM-DD' of a day (cached: formatting is on the simulator's hot path). */
export function dateOfDay(day: number): string {
  let s = dateCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    dateCache.set(day, s);
  }
  return s;
}

export function dayOfDate(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a calendar date: ${date}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

/** First day of month `month0` (0-based, may overflow into following years) of `year`. */
export function monthStartDay(year: number, month0: number): number {
  return Date.UTC(year, month0, 1) / DAY_MS;
}

export function yearMonthOfDay(day: number): { year: number; month0: number } {
  const d = new Date(day * DAY_MS);
  return { year: d.getUTCFullYear(), month0: d.getUTCMonth() };
}

/** Day of week, Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday). */
export function weekdayOf(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

const twoDigits = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

function wallClock(ms: number, separator: string, withMillis: boolean): string {
  const local = ms + SHANGHAI_OFFSET_MS;
  const day = Math.floor(local / DAY_MS);
  let rest = local - day * DAY_MS;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  const text = `${dateOfDay(day)}${separator}${twoDigits[hour]}:${twoDigits[min]}:${twoDigits[sec]}`;
  return withMillis ? `${text}.${String(millis).padStart(3, '0')}` : text;
}

/** Local Shanghai wall time 'YYYY-MM-DD HH:mm:ss[.SSS]' (ms must be an integer). */
export function shanghaiLocal(ms: number, withMillis = false): string {
  return wallClock(ms, ' ', withMillis);
}

/** ISO 8601 with the +08:00 offset. */
export function shanghaiIso(ms: number, withMillis = false): string {
  return `${wallClock(ms, 'T', withMillis)}+08:00`;
}

/** 'YYYYMMDD' of a day. */
export function compactDate(day: number): string {
  return dateOfDay(day).replaceAll('-', '');
}

export function monthPeriod(year: number, month0: number): Period {
  const start = monthStartDay(year, month0);
  const { year: y, month0: m } = yearMonthOfDay(start);
  return {
    grain: 'month',
    period: `${y}-${String(m + 1).padStart(2, '0')}`,
    start,
    end: monthStartDay(y, m + 1) - 1,
  };
}

export function quarterPeriod(year: number, quarter0: number): Period {
  const start = monthStartDay(year, quarter0 * 3);
  return {
    grain: 'quarter',
    period: `${year}-Q${quarter0 + 1}`,
    start,
    end: monthStartDay(year, quarter0 * 3 + 3) - 1,
  };
}

export function yearPeriod(year: number): Period {
  return { grain: 'year', period: String(year), start: monthStartDay(year, 0), end: monthStartDay(year + 1, 0) - 1 };
}

/** The period of `grain` that contains `day`. */
export function periodContaining(grain: Grain, day: number): Period {
  const { year, month0 } = yearMonthOfDay(day);
  if (grain === 'month') return monthPeriod(year, month0);
  if (grain === 'quarter') return quarterPeriod(year, Math.floor(month0 / 3));
  return yearPeriod(year);
}

/** Every period of `grain` that intersects [from, to] (days), in order. */
export function periodsIntersecting(grain: Grain, from: number, to: number): Period[] {
  const out: Period[] = [];
  for (let p = periodContaining(grain, from); p.start <= to; p = periodContaining(grain, p.end + 1)) out.push(p);
  return out;
}
