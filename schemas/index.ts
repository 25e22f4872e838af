import type { z } from 'zod';
import { dataResource, device, region, scenario } from './catalogs.js';
import { cityEvent } from './city-event.js';
import { deptDelivery, deptRecord } from './dept-delivery.js';
import { hotlineCase } from './hotline-case.js';
import { sensorReading } from './sensor-reading.js';
import { videoAlert } from './video-alert.js';

export * from './catalogs.js';
export * from './city-event.js';
export * from './common.js';
export * from './dept-delivery.js';
export * from './hotline-case.js';
export * from './sensor-reading.js';
export * from './video-alert.js';

/** Canonical datasets that land in the lake, by dataset name (the lake folder name). */
export const datasets = {
  sensor_reading: sensorReading,
  video_alert: videoAlert,
  city_event: cityEvent,
  hotline_case: hotlineCase,
  dept_delivery: deptDelivery,
  dept_record: deptRecord,
} as const;
export type DatasetName = keyof typeof datasets;
export const datasetNames = Object.keys(datasets) as DatasetName[];
export type CanonicalRecord<D extends DatasetName> = z.infer<(typeof datasets)[D]>;

/** Reference catalogs (seeds), by catalog name. */
export const catalogs = {
  regions: region,
  data_resources: dataResource,
  scenarios: scenario,
  devices: device,
} as const;
export type CatalogName = keyof typeof catalogs;

export interface DatasetMeta {
  id: string;
  version: number;
  natural_key: string[];
  event_time: string;
}

export function datasetMeta(name: DatasetName): DatasetMeta {
  return datasets[name].meta() as unknown as DatasetMeta;
}
