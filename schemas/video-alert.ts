import { z } from 'zod';
import { code, eventClass, latitude, longitude, regionCode, utcTimestamp } from './common.js';

export const videoAlertStatus = z.enum(['new', 'confirmed', 'false_positive', 'dispatched', 'closed']);

export const videoAlert = z
  .object({
    alert_id: code,
    camera_id: code,
    event_type: eventClass.describe('national event class mapped from the vendor code'),
    vendor_code: z.string().min(1).max(32).describe("the vendor's own event code, kept for audit"),
    confidence: z.number().min(0).max(1),
    occurred_at: utcTimestamp,
    region_code: regionCode,
    lon: longitude.optional(),
    lat: latitude.optional(),
    image_url: z.url().max(2048).optional(),
    status: videoAlertStatus,
    status_at: utcTimestamp,
  })
  .strict()
  .meta({ id: 'video_alert', version: 1, natural_key: ['alert_id', 'status'], event_time: 'occurred_at' });

export type VideoAlert = z.infer<typeof videoAlert>;
