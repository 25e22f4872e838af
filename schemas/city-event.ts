import { z } from 'zod';
import { code, eventClass, gridCode, regionCode, utcTimestamp } from './common.js';

export const citySourceKind = z.enum(['video', 'sensor', 'grid', 'hotline', 'other']);
/** GB/T 30428.8 lifecycle: 上报 → 受理/立案 → 派遣 → 处置 → 核查 → 结案, or 作废. */
export const cityEventStatus = z.enum([
  'reported',
  'registered',
  'dispatched',
  'handled',
  'verified',
  'closed',
  'cancelled',
]);

/** One snapshot of a case whatever raised it; each lifecycle step arrives as a new snapshot of the same event_id. */
export const cityEvent = z
  .object({
    event_id: code,
    source_kind: citySourceKind,
    source_ref: z.string().min(1).max(64).describe('alert id, device id or hotline order no. that raised the event'),
    event_class: eventClass,
    region_code: regionCode,
    grid_code: gridCode.optional(),
    reported_at: utcTimestamp,
    registered_at: utcTimestamp.optional(),
    dispatched_at: utcTimestamp.optional(),
    handled_at: utcTimestamp.optional(),
    verified_at: utcTimestamp.optional(),
    closed_at: utcTimestamp.optional(),
    deadline_at: utcTimestamp.optional(),
    status: cityEventStatus,
  })
  .strict()
  .meta({ id: 'city_event', version: 1, natural_key: ['event_id', 'status'], event_time: 'reported_at' });

export type CityEvent = z.infer<typeof cityEvent>;
