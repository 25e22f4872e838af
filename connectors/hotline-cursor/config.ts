import { z } from 'zod';
import { instantKey } from './instant.js';

/** Config keys both hotline kinds share: identity, feed and mapping, cursor start, polling. */
export const hotlineCommonKeys = {
  id: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)')
    .describe('connector id, named in logs, health and its dead letters'),
  feed: z
    .literal('hotline')
    .default('hotline')
    .describe('always hotline: each work order is one message on raw.hotline, keyed by its order id'),
  mapping: z
    .string()
    .min(1)
    .optional()
    .describe(
      "mapping file (YAML, docs/mappings.md) for this source's work orders, relative to the config; default: the hotline feed's mapping (`mappings.hotline`, else the built-in one)",
    ),
  start_at: z
    .string()
    .refine((t) => instantKey(t, '+00:00') !== undefined, 'expected a time, e.g. 2026-08-01T00:00:00+08:00')
    .optional()
    .describe('update time to start after when there is no checkpoint yet; default: every order the source holds'),
  poll_interval_ms: z
    .number()
    .int()
    .min(10)
    .max(3_600_000)
    .default(5000)
    .describe('wait between polls once a poll has read everything new'),
  lookback_ms: z
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .default(0)
    .describe(
      'each poll reads again from this long before the cursor and takes, once, an order found there that was not sent: one committed late (a transaction or clock that lags). 0 = from the cursor; e.g. 60000 for a case system that commits late. An order stamped earlier than this before the newest one taken is never read',
    ),
};
