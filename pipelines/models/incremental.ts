/**
 * What a build can take over from the previous marts file. The marts file records, beside the models, the lake days
 * it was built from (`hub_lake_days`: dataset, day, fingerprint of the day's files) and a fingerprint of every
 * model's definition (`cityhub_model_state`: its SQL and header, and those of everything upstream, seeds by content).
 * The next build compares: an `incremental` model whose fingerprint is unchanged keeps its rows of the unchanged lake
 * days and recomputes only the changed ones, reading only those days' folders (SQLMesh's incremental-by-time-range,
 * with the lake day as the time range). Sound because a record's lake day is its event day, and duplicates (same
 * natural key) never cross days.
 */
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetName } from '../../schemas/index.js';
import { UnknownModelSelectedError } from './errors.js';
import type { LakeDay } from './lake.js';
import type { ModelDefinition, ModelProject } from './project.js';

/** The seed listing the lake days a build read, with their fingerprints (build.ts). */
export const LAKE_DAYS_TABLE = 'hub_lake_days';
export const MODEL_STATE_TABLE = 'cityhub_model_state';
export const RUN_LOG_TABLE = 'cityhub_run_log';

export type LakeState = Map<DatasetName, ReadonlyMap<string, Pick<LakeDay, 'fingerprint'>>>;

export interface PreviousBuild {
  lake: LakeState;
  /** Model name → definition fingerprint, for the models stored as tables. */
  models: Map<string, string>;
}

/** Reads the state of the previous build from the attached marts file (`alias`); undefined when it has none. */
export async function readPreviousBuild(
  connection: DuckDBConnection,
  alias: string,
): Promise<PreviousBuild | undefined> {
  const tables = await connection.runAndReadAll(
    `select table_name from information_schema.tables where table_catalog = '${alias}' and table_schema = 'main'`,
  );
  const present = new Set(tables.getRows().map((r) => String(r[0])));
  if (!present.has(LAKE_DAYS_TABLE) || !present.has(MODEL_STATE_TABLE)) return undefined;
  // A file of a release whose lake-day listing had no fingerprints cannot tell which days changed.
  const fingerprinted = await connection.runAndReadAll(
    `select 1 from information_schema.columns where table_catalog = '${alias}' and table_name = '${LAKE_DAYS_TABLE}' and column_name = 'fingerprint'`,
  );
  if (fingerprinted.getRows().length === 0) return undefined;
  const lake: LakeState = new Map();
  const days = await connection.runAndReadAll(`select dataset, day, fingerprint from ${alias}.${LAKE_DAYS_TABLE}`);
  for (const [dataset, day, fingerprint] of days.getRows()) {
    const key = String(dataset) as DatasetName;
    let byDay = lake.get(key) as Map<string, { fingerprint: string }> | undefined;
    if (byDay === undefined) {
      byDay = new Map();
      lake.set(key, byDay);
    }
    byDay.set(String(day), { fingerprint: String(fingerprint) });
  }
  const models = new Map<string, string>();
  const state = await connection.runAndReadAll(`select model, fingerprint from ${alias}.${MODEL_STATE_TABLE}`);
  for (const [model, fingerprint] of state.getRows()) {
    if (present.has(String(model))) models.set(String(model), String(fingerprint));
  }
  return { lake, models };
}

/**
 * The lake days of each dataset whose files differ between two builds (added, removed or changed), plus the last
 * `lookbackDays` days the lake holds (recomputed even when unchanged).
 */
export function changedDays(
  previous: LakeState,
  current: LakeState,
  lookbackDays: number,
): Map<DatasetName, Set<string>> {
  const changed = new Map<DatasetName, Set<string>>();
  for (const dataset of new Set([...previous.keys(), ...current.keys()])) {
    const before = previous.get(dataset) ?? new Map();
    const now = current.get(dataset) ?? new Map();
    const days = new Set<string>();
    for (const [day, { fingerprint }] of now) if (before.get(day)?.fingerprint !== fingerprint) days.add(day);
    for (const day of before.keys()) if (!now.has(day)) days.add(day);
    if (lookbackDays > 0) for (const day of [...now.keys()].sort().slice(-lookbackDays)) days.add(day);
    changed.set(dataset, days);
  }
  return changed;
}

/**
 * A fingerprint of each model's definition and of everything it reads: its header and SQL, its dependencies'
 * fingerprints, and the content of the seeds (`seedFingerprints`). Equal fingerprints: the same model over the same
 * reference data, so rows computed before are still right for the days whose lake files did not change.
 */
export function modelFingerprints(
  project: ModelProject,
  seedFingerprints: ReadonlyMap<string, string>,
): Map<string, string> {
  const fingerprints = new Map<string, string>(seedFingerprints);
  for (const model of project.models) {
    const hash = createHash('sha256');
    const { tests: _tests, description: _description, ...definition } = model.header;
    hash.update(JSON.stringify(definition));
    hash.update('\u0000');
    hash.update(model.body);
    for (const dep of model.header.dependsOn) hash.update(`\u0000${dep}=${fingerprints.get(dep) ?? ''}`);
    fingerprints.set(model.name, hash.digest('hex'));
  }
  return fingerprints;
}

/**
 * The lake datasets upstream of a model: those it reads and those read by what it depends on, following only views
 * (`through: 'views'`: what an incremental model by lake day reads, which has no table upstream) or every model
 * (`'all'`: the lake days a period-incremental model's fact can have changed by).
 */
export function lakeDatasetsOf(
  name: string,
  byName: ReadonlyMap<string, ModelDefinition>,
  through: 'views' | 'all',
): DatasetName[] {
  const out = new Set<DatasetName>();
  const seen = new Set<string>();
  const visit = (n: string, start: boolean): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const model = byName.get(n);
    if (model === undefined || (!start && through === 'views' && model.header.materialization !== 'view')) return;
    for (const d of model.sources) out.add(d);
    for (const dep of model.header.dependsOn) visit(dep, false);
  };
  visit(name, true);
  return [...out];
}

/** Every model named in `select` (`name` or `name+`: with everything downstream of it). */
export function selectedModels(project: ModelProject, select: readonly string[]): Set<string> {
  const names = new Set(project.models.map((m) => m.name));
  const selected = new Set<string>();
  const downstream: string[] = [];
  for (const item of select) {
    const name = item.endsWith('+') ? item.slice(0, -1) : item;
    if (!names.has(name)) throw new UnknownModelSelectedError(item, [...names]);
    selected.add(name);
    if (item.endsWith('+')) downstream.push(name);
  }
  // Models are in build order: one pass adds every model whose dependency was added before it.
  const spreading = new Set(downstream);
  for (const model of project.models) {
    if (model.header.dependsOn.some((d) => spreading.has(d))) {
      spreading.add(model.name);
      selected.add(model.name);
    }
  }
  return selected;
}
