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
import { type ColumnSpec, columnSpecs } from './columns.js';
import { ModelBuildError } from './errors.js';

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
  'hub_settings',
] as const;
export type SeedName = (typeof seedNames)[number];

const catalogSeeds: { table: SeedName; catalog: keyof ModelCatalogs; schema: z.ZodObject }[] = [
  { table: 'seed_regions', catalog: 'regions', schema: region },
  { table: 'seed_data_resources', catalog: 'data_resources', schema: dataResource },
  { table: 'seed_scenarios', catalog: 'scenarios', schema: scenario },
  { table: 'seed_devices', catalog: 'devices', schema: device },
];

async function loadTable(
  connection: DuckDBConnection,
  table: string,
  columns: ColumnSpec[],
  rows: Record<string, unknown>[],
): Promise<void> {
  try {
    await createTableWithRows(connection, table, columns, rows);
  } catch (err) {
    throw new ModelBuildError(table, undefined, `-- loading seed ${table} (${rows.length} rows)`, err);
  }
}

/**
 * Loads the reference catalogs as seed tables (lists → VARCHAR[], dates → DATE, absent optional fields → NULL)
 * and the hub's own region as `hub_settings(region_code)`. Catalogs are parsed again with their zod schemas,
 * so defaults (empty lists, closed_loop = false) apply even to hand-built objects.
 */
export async function loadSeeds(
  connection: DuckDBConnection,
  catalogs: ModelCatalogs,
  regionCode: string,
): Promise<void> {
  for (const seed of catalogSeeds) {
    let rows: Record<string, unknown>[];
    try {
      rows = (catalogs[seed.catalog] ?? []).map((entry) => seed.schema.parse(entry) as Record<string, unknown>);
    } catch (err) {
      throw new ModelBuildError(seed.table, undefined, `-- catalog ${seed.catalog} does not match its schema`, err);
    }
    await loadTable(connection, seed.table, columnSpecs(seed.schema), rows);
  }
  await loadTable(
    connection,
    'hub_settings',
    [{ name: 'region_code', type: 'VARCHAR' }],
    [{ region_code: regionCode }],
  );
}
