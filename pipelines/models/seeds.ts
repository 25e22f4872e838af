import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import {
  type DataResource,
  type Device,
  dataResource,
  device,
  type Region,
  region,
  type Scenario,
  scenario,
} from '../../schemas/index.js';
import { createTableWithRows } from './append.js';
import { type ColumnSpec, catalogColumnSpecs } from './columns.js';
import { ModelBuildError } from './errors.js';
import { type IndicatorSettings, type IndicatorSettingsInput, indicatorSettingsSchema } from './indicator-settings.js';

export interface ModelCatalogs {
  regions: Region[];
  data_resources: DataResource[];
  scenarios: Scenario[];
  devices: Device[];
}

/** Tables the runner creates before the models; models may depend on them by name. */
export const seedNames = [
  'seed_regions',
  'seed_data_resources',
  'seed_scenarios',
  'seed_devices',
  'seed_alarm_thresholds',
  'hub_settings',
  // Made by the runner (build.ts): (dataset, day) for every lake day folder with files; the models folder's own
  // reference data (seeds/*.json): the indicator catalog and the event classes.
  'hub_lake_days',
  'seed_indicators',
  'seed_event_classes',
  // The evaluation scheme (config models.indicators.evaluation over the indicator catalog).
  'seed_evaluation',
  // A hub rolling up member hubs (member-seeds.ts): the members and the values pulled from them.
  'hub_members',
  'hub_member_values',
] as const;
export type SeedName = (typeof seedNames)[number];

const catalogSeeds: { table: SeedName; catalog: keyof ModelCatalogs; schema: z.ZodObject }[] = [
  { table: 'seed_regions', catalog: 'regions', schema: region },
  { table: 'seed_data_resources', catalog: 'data_resources', schema: dataResource },
  { table: 'seed_scenarios', catalog: 'scenarios', schema: scenario },
  { table: 'seed_devices', catalog: 'devices', schema: device },
];

/** Creates a seed table; returns a fingerprint of its columns and rows (incremental.ts compares builds by it). */
export async function loadSeedTable(
  connection: DuckDBConnection,
  table: SeedName,
  columns: ColumnSpec[],
  rows: Record<string, unknown>[],
): Promise<string> {
  try {
    await createTableWithRows(connection, table, columns, rows);
  } catch (err) {
    throw new ModelBuildError(table, undefined, `-- loading seed ${table} (${rows.length} rows)`, err);
  }
  return createHash('sha256')
    .update(JSON.stringify([columns, rows]))
    .digest('hex');
}

/**
 * Creates a seed table from catalog entries, parsed again with their schema (so defaults apply even to hand-built
 * objects): lists of strings → VARCHAR[], dates → DATE, absent optional fields → NULL, other objects → JSON text.
 * Returns its fingerprint.
 */
export async function loadCatalogTable(
  connection: DuckDBConnection,
  table: SeedName,
  schema: z.ZodObject,
  entries: readonly unknown[],
): Promise<string> {
  const { columns, json } = catalogColumnSpecs(schema);
  let rows: Record<string, unknown>[];
  try {
    rows = entries.map((entry) => {
      const row = schema.parse(entry) as Record<string, unknown>;
      for (const name of json) if (row[name] !== undefined) row[name] = JSON.stringify(row[name]);
      return row;
    });
  } catch (err) {
    throw new ModelBuildError(table, undefined, `-- the entries of ${table} do not match their schema`, err);
  }
  return loadSeedTable(connection, table, columns, rows);
}

const shanghaiOffsetMs = 8 * 3600 * 1000;

/**
 * The data cut-off of a build at `now`: the start (00:00 Asia/Shanghai) of the build's own day. Days before it are
 * over and count in full; the build's day and later have not happened yet and count nowhere.
 */
export function dataCutoff(now: Date): { cutoffDate: string; dataCutoff: string } {
  const cutoffDate = new Date(now.getTime() + shanghaiOffsetMs).toISOString().slice(0, 10);
  return { cutoffDate, dataCutoff: new Date(Date.parse(`${cutoffDate}T00:00:00Z`) - shanghaiOffsetMs).toISOString() };
}

/**
 * Loads the reference catalogs as seed tables (lists → VARCHAR[], dates → DATE, absent optional fields → NULL,
 * lists of objects → their JSON as VARCHAR)
 * and the hub's settings as one row of `hub_settings`: the hub's own region, the build's data cut-off (TIMESTAMPTZ)
 * and its Asia/Shanghai date (the first day not counted), and the indicator settings (hotline composite weights);
 * the sensor alarm thresholds go to `seed_alarm_thresholds`.
 * Catalogs are parsed again with their zod schemas, so defaults (empty lists, closed_loop = false) apply even to
 * hand-built objects.
 */
export async function loadSeeds(
  connection: DuckDBConnection,
  catalogs: ModelCatalogs,
  regionCode: string,
  now: Date,
  settingsInput: IndicatorSettingsInput = {},
): Promise<Map<SeedName, string>> {
  const fingerprints = new Map<SeedName, string>();
  let settings: IndicatorSettings;
  try {
    settings = indicatorSettingsSchema.parse(settingsInput);
  } catch (err) {
    throw new ModelBuildError('hub_settings', undefined, '-- indicator settings do not match their schema', err);
  }
  for (const seed of catalogSeeds) {
    fingerprints.set(
      seed.table,
      await loadCatalogTable(connection, seed.table, seed.schema, catalogs[seed.catalog] ?? []),
    );
  }
  const { cutoffDate, dataCutoff: cutoff } = dataCutoff(now);
  const hubSettings = {
    region_code: regionCode,
    hotline_weight_response: settings.hotline_weights.response,
    hotline_weight_resolution: settings.hotline_weights.resolution,
    hotline_weight_satisfaction: settings.hotline_weights.satisfaction,
    basically_satisfied_weight: settings.basically_satisfied_weight,
  };
  await loadSeedTable(
    connection,
    'hub_settings',
    [
      { name: 'region_code', type: 'VARCHAR' },
      { name: 'data_cutoff', type: 'TIMESTAMPTZ' },
      { name: 'cutoff_date', type: 'DATE' },
      { name: 'hotline_weight_response', type: 'DOUBLE' },
      { name: 'hotline_weight_resolution', type: 'DOUBLE' },
      { name: 'hotline_weight_satisfaction', type: 'DOUBLE' },
      { name: 'basically_satisfied_weight', type: 'DOUBLE' },
    ],
    [{ ...hubSettings, data_cutoff: cutoff, cutoff_date: cutoffDate }],
  );
  // Without the cut-off, which moves every day: the models that read it handle its moves (tables are rebuilt; a
  // period-incremental model recomputes what the move touches; a day-incremental model may not read it).
  const settingsFingerprint = createHash('sha256').update(JSON.stringify(hubSettings)).digest('hex');
  fingerprints.set('hub_settings', settingsFingerprint);
  const thresholdsFingerprint = await loadSeedTable(
    connection,
    'seed_alarm_thresholds',
    [
      { name: 'device_type', type: 'VARCHAR' },
      { name: 'metric', type: 'VARCHAR' },
      { name: 'level', type: 'INTEGER' },
      { name: 'at_or_above', type: 'DOUBLE' },
      { name: 'at_or_below', type: 'DOUBLE' },
    ],
    settings.sensor_alarms.map((t) => ({ at_or_above: null, at_or_below: null, ...t })),
  );
  fingerprints.set('seed_alarm_thresholds', thresholdsFingerprint);
  return fingerprints;
}
