import { z } from 'zod';

/** GB/T 2260 six-digit administrative division code: XX0000 province, XXXX00 city, XXXXXX district/county. */
export const regionCode = z
  .string()
  .regex(/^\d{6}$/, 'expected a 6-digit GB/T 2260 region code')
  .describe('GB/T 2260 6-digit region code');

/** GB/T 30428.1 unit grid: 12-digit community code + 3-digit sequence. */
export const gridCode = z
  .string()
  .regex(/^\d{15}$/, 'expected a 15-digit unit grid code')
  .describe('15-digit unit grid code');

/** GB/T 30428.2 event class: 2-digit 大类 + 2-digit 小类. */
export const eventClass = z
  .string()
  .regex(/^\d{4}$/, 'expected a 4-digit GB/T 30428.2 event class')
  .describe('GB/T 30428.2 event class');

/** Canonical timestamps are ISO 8601 in UTC with a Z suffix (stored as microsecond TIMESTAMPTZ in Parquet). */
export const utcTimestamp = z.iso.datetime().describe('UTC timestamp, ISO 8601 with Z');

/** Calendar date YYYY-MM-DD (catalog validity dates are Asia/Shanghai calendar dates). */
export const calendarDate = z.iso.date().describe('calendar date YYYY-MM-DD');

export const longitude = z.number().min(-180).max(180);
export const latitude = z.number().min(-90).max(90);

/** An identifier's rule beside its pattern; a named function so the bulk path's SQL checks know it (schema-sql.ts). */
export function withoutDotDotOrDoubleSlash(value: string): boolean {
  return !value.includes('..') && !value.includes('//');
}

/**
 * An identifier or code (device ids, alert and case ids, device types, metrics, resource and scenario codes):
 * letters (Chinese included), digits and `_ . : # + - /`, starting with a letter or digit, never `..` — so an id
 * can name a file or a URL path segment safely, and SQL or a path smuggled into an id is refused.
 */
export const code = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}_.:#+/-]*$/u, 'expected an identifier: letters, digits and _ . : # + - /')
  .refine(withoutDotDotOrDoubleSlash, 'expected an identifier without ".." or "//"');

/** Columns the lander adds to every landed row: where it came from and when it was taken in. */
export const landingColumns = z.object({
  _source: z.string().describe('connector id that produced the raw record'),
  _ingested_at: utcTimestamp.describe('when the pipeline normalized the record'),
  _topic: z.string(),
  _partition: z.number().int().nonnegative(),
  _offset: z.number().int().nonnegative(),
});
export type LandingColumns = z.infer<typeof landingColumns>;
