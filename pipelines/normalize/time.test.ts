import { describe, expect, it } from 'vitest';
import { parseSourceTime, shanghaiDate } from './time.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('parseSourceTime: vendor timestamps → epoch ms', () => {
  it('reads a zone-less local time as Asia/Shanghai (UTC+8)', () => {
    expect(iso(parseSourceTime('2026-08-01 08:00:00'))).toBe('2026-08-01T00:00:00.000Z');
    expect(iso(parseSourceTime('2026-08-01T08:00:00'))).toBe('2026-08-01T00:00:00.000Z');
  });

  it('keeps milliseconds and accepts minutes-only local times', () => {
    expect(iso(parseSourceTime('2026-08-01 08:00:00.250'))).toBe('2026-08-01T00:00:00.250Z');
    expect(iso(parseSourceTime('2026-08-01 08:05'))).toBe('2026-08-01T00:05:00.000Z');
  });

  it('moves an early-morning local time to the previous UTC day', () => {
    expect(iso(parseSourceTime('2026-08-01 07:00:00'))).toBe('2026-07-31T23:00:00.000Z');
  });

  it('honours an explicit ISO 8601 offset or Z instead of assuming Shanghai', () => {
    expect(iso(parseSourceTime('2026-08-01T08:00:00+08:00'))).toBe('2026-08-01T00:00:00.000Z');
    expect(iso(parseSourceTime('2026-08-01T08:00:00+0800'))).toBe('2026-08-01T00:00:00.000Z');
    expect(iso(parseSourceTime('2026-08-01T00:00:00Z'))).toBe('2026-08-01T00:00:00.000Z');
    expect(iso(parseSourceTime('2026-08-01T02:00:00+02:00'))).toBe('2026-08-01T00:00:00.000Z');
  });

  it('takes a number as epoch milliseconds', () => {
    expect(iso(parseSourceTime(1754006400000))).toBe('2025-08-01T00:00:00.000Z');
  });

  it('accepts 29 February in a leap year (2028) and rejects it otherwise (2026)', () => {
    expect(iso(parseSourceTime('2028-02-29 12:00:00'))).toBe('2028-02-29T04:00:00.000Z');
    expect(parseSourceTime('2026-02-29 12:00:00')).toBeNaN();
    expect(parseSourceTime('2026-02-29T12:00:00+08:00')).toBeNaN();
    // 2100 is not a leap year (divisible by 100), 2000 is (divisible by 400).
    expect(parseSourceTime('2100-02-29 00:00:00')).toBeNaN();
    expect(iso(parseSourceTime('2000-02-29 08:00:00'))).toBe('2000-02-29T00:00:00.000Z');
  });

  it.each([
    ['day that does not exist', '2026-02-30 10:00:00'],
    ['month 13', '2026-13-01 00:00:00'],
    ['month 0', '2026-00-10 00:00:00'],
    ['day 0', '2026-08-00 00:00:00'],
    ['31 April', '2026-04-31 09:00:00'],
    ['hour 24', '2026-08-01 24:00:00'],
    ['minute 60', '2026-08-01 10:60:00'],
    ['second 60', '2026-08-01 10:00:60'],
    ['impossible day with an offset (Date.parse would roll it into March)', '2026-02-30T10:00:00+08:00'],
    ['Chinese date text', '2026年8月1日 08:00'],
    ['slashes', '2026/08/01 08:00:00'],
    ['empty string', ''],
  ])('rejects a %s as NaN', (_, text) => {
    expect(parseSourceTime(text)).toBeNaN();
  });

  it.each([
    ['null', null],
    ['a boolean', true],
    ['an object', { ts: '2026-08-01 08:00:00' }],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
  ])('rejects %s as NaN', (_, value) => {
    expect(parseSourceTime(value)).toBeNaN();
  });
});

describe('shanghaiDate: the lake dt partition of an instant', () => {
  it('is the Asia/Shanghai calendar date, not the UTC date', () => {
    expect(shanghaiDate(Date.parse('2026-07-31T23:00:00Z'))).toBe('2026-08-01');
    expect(shanghaiDate(Date.parse('2026-07-31T15:59:59.999Z'))).toBe('2026-07-31');
    expect(shanghaiDate(Date.parse('2026-07-31T16:00:00Z'))).toBe('2026-08-01');
  });
});
