import { z } from 'zod';

export const demoConnectorConfig = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)')
      .describe('connector id, recorded as _source on every row'),
    kind: z.literal('demo'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(20261123)
      .describe('same seed, same city, same records'),
    start_month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM')
      .optional()
      .describe('first month of generated history (default: `months` months before the current month)'),
    months: z.number().int().min(1).max(24).default(3).describe('months of history generated at start'),
    scale: z.number().positive().max(50).default(1).describe('volume multiplier (1 ≈ 50k raw records over 3 months)'),
    live: z.boolean().default(true).describe('after the history, keep producing current records until stopped'),
    live_tick_ms: z.number().int().min(50).default(1000).describe('how often live records are produced'),
    batch_size: z.number().int().min(1).max(100_000).default(2000).describe('messages per bus send'),
    inbox: z
      .string()
      .min(1)
      .optional()
      .describe(
        'drop folder (relative to the config file) where the departments deliver their data as files — csv/ (GBK), xlsx/, ndjson/ — for dept-files connectors watching them (list the demo before them); absent: one raw.dept message per delivery',
      ),
  })
  .strict();

export type DemoConnectorConfig = z.infer<typeof demoConnectorConfig>;

/** The first month of history when none is configured: `months` whole months before the current one (Asia/Shanghai). */
export function defaultStartMonth(months: number, nowMs: number): string {
  const shanghai = new Date(nowMs + 8 * 3600_000);
  const index = shanghai.getUTCFullYear() * 12 + shanghai.getUTCMonth() - months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${year}-${String(month).padStart(2, '0')}`;
}
