import { z } from 'zod';
import { code, gridCode, latitude, longitude, regionCode, utcTimestamp } from './common.js';

/** Canonical units: vendors' units are converted to these by the source mapping. */
export const canonicalUnits = ['%LEL', 'MPa', 'm3/h', 'cm', 'με', 'mm', 'Hz', 'm/s2', '°', '℃'] as const;

export const sensorReading = z
  .object({
    device_id: code,
    device_type: code.describe('device type from the device registry, e.g. gas_methane, drain_level'),
    metric: code,
    value: z.number().finite(),
    unit: z.enum(canonicalUnits),
    observed_at: utcTimestamp,
    region_code: regionCode,
    grid_code: gridCode.optional(),
    lon: longitude.optional(),
    lat: latitude.optional(),
  })
  .strict()
  .meta({
    id: 'sensor_reading',
    version: 1,
    natural_key: ['device_id', 'metric', 'observed_at'],
    event_time: 'observed_at',
  });

export type SensorReading = z.infer<typeof sensorReading>;
