/**
 * Update times as the sources give them — ISO 8601 with or without a zone, PostgreSQL's `2026-08-13 02:20:30.123456+00`,
 * epoch milliseconds — turned into one comparable text: UTC, `YYYY-MM-DDTHH:mm:ss.ffffffZ`, fixed width, so string
 * order is time order down to the microsecond (PostgreSQL's precision: a cursor rounded to milliseconds would ask for
 * the same rows again forever).
 */

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Minutes east of UTC of a `+08`, `+0800` or `+08:00` designator. */
function offsetMinutes(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
}

/**
 * The comparable UTC text of an update time, or undefined when it is no time. `defaultOffset` (e.g. `+08:00`) is the
 * zone of a time written without one.
 */
export function instantKey(value: unknown, defaultOffset: string): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : `${date.toISOString().slice(0, 23)}000Z`;
  }
  if (typeof value !== 'string') return undefined;
  const m = TIMESTAMP.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone = defaultOffset] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const date = new Date(ms - offsetMinutes(zone) * 60_000);
  if (Number.isNaN(date.getTime())) return undefined;
  return `${date.toISOString().slice(0, 19)}.${fraction.padEnd(6, '0').slice(0, 6)}Z`;
}

/** ISO 8601 UTC text of a PostgreSQL `timestamptz` value: the microseconds kept, trailing zeros dropped. */
export function isoText(key: string): string {
  const fraction = key.slice(20, 26).replace(/0+$/, '');
  return fraction === '' ? `${key.slice(0, 19)}Z` : `${key.slice(0, 19)}.${fraction}Z`;
}

/** The comparable UTC text (instantKey) of `ms` milliseconds earlier; the microseconds kept. */
export function earlierKey(key: string, ms: number): string {
  const micros = Number(key.slice(20, 26));
  const date = new Date(Date.parse(`${key.slice(0, 19)}Z`) + Math.floor(micros / 1000) - ms);
  const fraction = String(date.getUTCMilliseconds() * 1000 + (micros % 1000)).padStart(6, '0');
  return `${date.toISOString().slice(0, 19)}.${fraction}Z`;
}

/**
 * An update time as the source wrote it, `ms` milliseconds earlier, written the same way (separator, fraction digits,
 * zone or none; epoch milliseconds stay epoch milliseconds): what a read from an earlier point asks the source with.
 * Fewer fraction digits than the shift needs round down, to an earlier time. Undefined when `text` is no time.
 */
export function earlierText(text: string, ms: number): string | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return String(Number(trimmed) - ms);
  const m = TIMESTAMP.exec(trimmed);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction] = m;
  const subMs = (fraction ?? '').padEnd(3, '0');
  const wall = new Date(
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(subMs.slice(0, 3))) - ms,
  );
  if (Number.isNaN(wall.getTime()) || wall.getUTCFullYear() < 1000 || wall.getUTCFullYear() > 9999) return undefined;
  const iso = wall.toISOString();
  // The zone as written (a space, `+08`, `Z` …) follows the seconds and their fraction.
  const tail = trimmed.slice(19 + (fraction === undefined ? 0 : fraction.length + 1));
  const digits =
    fraction === undefined ? '' : `${trimmed[19]}${`${iso.slice(20, 23)}${subMs.slice(3)}`.slice(0, fraction.length)}`;
  return `${iso.slice(0, 10)}${trimmed[10]}${iso.slice(11, 19)}${digits}${tail}`;
}
