/**
 * The API's query parameters, validated with zod before anything reads the snapshot: a value that does not match is a
 * 400 naming the parameter; values that match are bound as query parameters, never written into SQL.
 */
import { z } from 'zod';

export const grains = ['day', 'month', 'quarter', 'year'] as const;
export type Grain = (typeof grains)[number];

const periodPatterns: Record<Grain, { pattern: RegExp; shape: string }> = {
  day: { pattern: /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, shape: 'YYYY-MM-DD' },
  month: { pattern: /^\d{4}-(0[1-9]|1[0-2])$/, shape: 'YYYY-MM' },
  quarter: { pattern: /^\d{4}-Q[1-4]$/, shape: 'YYYY-Qn' },
  year: { pattern: /^\d{4}$/, shape: 'YYYY' },
};

/** A day that exists (2026-02-30 does not). */
function realDay(period: string): boolean {
  const date = new Date(`${period}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === period;
}

const whole = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} is a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} is at least ${min}`).max(max, `${name} is at most ${max}`))
    .default(fallback);

export const MAX_PAGE = 10_000;

export const aggregatesQuery = z
  .strictObject({
    indicator: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an indicator code (letters, digits, _ . -)')
      .optional(),
    grain: z.enum(grains, `one of ${grains.join(', ')}`).optional(),
    period: z.string().max(10, 'a period is at most 10 characters').optional(),
    region: z
      .string()
      .regex(/^\d{6}$/, 'a 6-digit region code (GB/T 2260)')
      .optional(),
    since: z
      .string()
      .regex(periodPatterns.day.pattern, 'a day, YYYY-MM-DD')
      .refine(realDay, 'a day that exists')
      .optional(),
    limit: whole('limit', 1, MAX_PAGE, 1000),
    offset: whole('offset', 0, 1_000_000_000, 0),
    bom: z.enum(['true', 'false'], 'true or false').default('false'),
  })
  .superRefine((q, ctx) => {
    if (q.period === undefined) return;
    if (q.grain === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['period'],
        message: 'a period needs its grain (grain=day|month|quarter|year)',
      });
      return;
    }
    const { pattern, shape } = periodPatterns[q.grain];
    if (!pattern.test(q.period) || (q.grain === 'day' && !realDay(q.period))) {
      ctx.addIssue({ code: 'custom', path: ['period'], message: `a ${q.grain} period is ${shape}` });
    }
  });

export type AggregatesQuery = z.infer<typeof aggregatesQuery>;

export const indicatorsQuery = z.strictObject({
  bom: z.enum(['true', 'false'], 'true or false').default('false'),
});

/** The first problem of a failed parse, as `parameter: what it must be`. */
export function describeParamError(error: z.ZodError): { parameter: string; reason: string } {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return { parameter: issue.keys.join(', '), reason: `unknown parameter ${issue.keys.join(', ')}` };
  }
  const parameter = issue.path.map(String).join('.') || '(query)';
  return { parameter, reason: `${parameter}: ${issue.message}` };
}
