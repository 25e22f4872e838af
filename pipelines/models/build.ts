/**
 * Builds the models into an open (new) marts database: seeds, then every model in dependency order — views, tables,
 * and incremental tables that take the unchanged lake days over from the previous marts file (incremental.ts) —
 * then the data tests, the state of this build (lake days, model fingerprints, the run log), and drops what reads
 * the lake by path so the file is self-contained.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetName } from '../../schemas/index.js';
import { createTableWithRows } from './append.js';
import { ident, literal } from './columns.js';
import { type DataTestResult, runDataTests } from './data-tests.js';
import { ModelBuildError, ModelDefinitionError } from './errors.js';
import {
  changedDays,
  LAKE_DAYS_TABLE,
  lakeDatasetsOf,
  MODEL_STATE_TABLE,
  modelFingerprints,
  type PreviousBuild,
  RUN_LOG_TABLE,
  readPreviousBuild,
  selectedModels,
} from './incremental.js';
import { indicatorCatalogFile, indicatorColumns, indicatorSchema, indicatorValuesSql } from './indicator-catalog.js';
import { type IndicatorSettingsInput, indicatorSettingsSchema } from './indicator-settings.js';
import { type LakeDay, lakeDays, lakeSourceSql } from './lake.js';
import { loadMemberSeeds, type MemberSeedsOptions } from './member-seeds.js';
import {
  copyUnchangedPeriodsSql,
  declaredGrains,
  preparePeriodRecompute,
  recomputedFactsView,
  recomputedPeriodsTable,
  recomputedPeriodsView,
  sameAsPrevious,
} from './period-incremental.js';
import {
  indicatorValuesPattern,
  type ModelDefinition,
  type ModelProject,
  PERIODS_MODEL,
  sourcePattern,
} from './project.js';
import { eventClassFields } from './seed-files.js';
import { loadCatalogTable, loadSeeds, loadSeedTable, type ModelCatalogs, seedNames } from './seeds.js';

/** How a model's relation was made in this build. */
export type BuildMode = 'view' | 'full' | 'incremental' | 'copied';

export interface ModelRunStat {
  name: string;
  /** Rows of a table; null for views (counting would read the lake). */
  rows: number | null;
  ms: number;
  mode: BuildMode;
  /** Incremental models: the lake days recomputed (the others were taken over from the previous build). */
  days?: number;
  /** Models incremental by (grain, period): the periods recomputed. */
  periods?: number;
}

export interface BuildOptions {
  lakeDir: string;
  /** The published marts file: the previous build, read for incremental models and --select. */
  martsPath: string;
  regionCode: string;
  catalogs: ModelCatalogs;
  indicators?: IndicatorSettingsInput;
  now: Date;
  /** Ignore the previous build: every model from the whole lake. */
  fullRefresh?: boolean;
  /** Rebuild only these models (`name`, or `name+` with everything downstream); copy the others over. */
  select?: readonly string[];
  /** Lake days recomputed by incremental models even when their files did not change (default 0). */
  lookbackDays?: number;
  /** A hub rolling up member hubs: where their pulled values are (hub_members, hub_member_values). */
  federation?: MemberSeedsOptions;
  onProgress?: (event: {
    model: string;
    ms: number;
    rows?: number;
    mode: BuildMode;
    days?: number;
    periods?: number;
  }) => void;
}

export interface BuildOutcome {
  models: ModelRunStat[];
  tests: DataTestResult[];
  /** Why the previous build was not used (absent when it was). */
  fullBuildReason?: string;
}

const PREVIOUS = 'previous';
/** Builds kept in the run log. */
const RUN_LOG_BUILDS = 200;

export async function buildModels(
  connection: DuckDBConnection,
  project: ModelProject,
  o: BuildOptions,
): Promise<BuildOutcome> {
  await connection.run("set TimeZone = 'UTC'");
  checkDeclaredDependencies(connection, project);
  const seedFingerprints = await loadSeeds(connection, o.catalogs, o.regionCode, o.now, o.indicators);
  const byName = new Map(project.models.map((m) => [m.name, m]));

  const lake = new Map<DatasetName, Map<string, LakeDay>>();
  for (const dataset of new Set(project.models.flatMap((m) => m.sources))) {
    lake.set(dataset, await lakeDays(o.lakeDir, dataset));
  }
  await loadLakeDays(connection, lake);
  // Not its content, which changes with every landed file: the incremental builds compare it day by day (and a
  // day-incremental model may not read it).
  seedFingerprints.set(LAKE_DAYS_TABLE, LAKE_DAYS_TABLE);
  // The models folder's own reference data, validated (refinements included) when the project loaded.
  seedFingerprints.set(
    'seed_indicators',
    await loadCatalogTable(connection, 'seed_indicators', indicatorSchema, project.indicators),
  );
  seedFingerprints.set('seed_evaluation', await loadEvaluation(connection, project, o.indicators));
  const memberSeeds = await loadMemberSeeds(connection, o.federation);
  seedFingerprints.set('hub_members', memberSeeds.hub_members);
  seedFingerprints.set('hub_member_values', memberSeeds.hub_member_values);
  seedFingerprints.set(
    'seed_event_classes',
    await loadCatalogTable(connection, 'seed_event_classes', eventClassFields, project.eventClasses),
  );
  const fingerprints = modelFingerprints(project, seedFingerprints);
  const { previous, reason } = o.fullRefresh
    ? { previous: undefined, reason: 'full refresh asked for' }
    : await attachPrevious(connection, o.martsPath);
  const changed = previous ? changedDays(previous.lake, lake, o.lookbackDays ?? 0) : undefined;
  const selected = o.select ? selectedModels(project, o.select) : undefined;
  const buildId = new Date().toISOString();

  /** Staging view → its twin over only the changed lake days (incremental builds). */
  const deltaViews = new Map<string, string>();
  /** The body with its template expressions expanded (the lake's files, the indicators' rows). */
  const sourceSql = (model: ModelDefinition, onlyChanged: boolean) =>
    model.body
      .replace(sourcePattern, (_all, _source, dataset: DatasetName) =>
        lakeSourceSql(o.lakeDir, dataset, lake.get(dataset)!, onlyChanged ? changed?.get(dataset) : undefined),
      )
      .replace(indicatorValuesPattern, () => indicatorValuesSql(project.indicators));
  let indicatorsChecked = false;
  const run = async (model: ModelDefinition, sql: string) => {
    try {
      await connection.run(sql);
    } catch (err) {
      throw new ModelBuildError(model.name, model.file, sql, err);
    }
  };

  /**
   * Whether a view is read over the whole lake in this build: by a table, a view that is, or an incremental model by
   * lake day that is not taken over day by day (changed, or new).
   */
  const fullViewNeeded = (name: string): boolean =>
    project.models.some((consumer) => {
      if (!consumer.header.dependsOn.includes(name)) return false;
      if (consumer.header.materialization === 'view') return fullViewNeeded(consumer.name);
      if (consumer.header.incrementalBy?.kind !== 'day') return true;
      return previous?.models.get(consumer.name) !== fingerprints.get(consumer.name);
    });
  const stats: ModelRunStat[] = [];
  /** Period-incremental models built incrementally in this build (their recomputed periods are temp tables). */
  const periodModels = new Set<string>();
  for (const model of project.models) {
    const started = performance.now();
    const table = ident(model.name);
    let mode: BuildMode;
    let days: number | undefined;
    let periods: number | undefined;
    let created = true;
    if (model.header.materialization === 'view') {
      mode = 'view';
      // Binding a view over the whole lake reads every file's schema: skipped when only changed days are read.
      created = !(changed !== undefined && model.sources.length > 0 && !fullViewNeeded(model.name));
      if (created) await run(model, `create view ${table} as\n${sourceSql(model, false)}`);
      if (changed !== undefined && model.sources.length > 0) {
        const delta = `${model.name}__changed_days`;
        await run(model, `create view ${ident(delta)} as\n${sourceSql(model, true)}`);
        deltaViews.set(model.name, delta);
      }
    } else if (selected !== undefined && !selected.has(model.name) && previous?.models.has(model.name)) {
      mode = 'copied';
      await run(model, `create table ${table} as select * from ${PREVIOUS}.${table}`);
    } else if (
      model.header.incrementalBy?.kind === 'day' &&
      changed !== undefined &&
      previous?.models.get(model.name) === fingerprints.get(model.name)
    ) {
      mode = 'incremental';
      const dayColumn = ident(model.header.incrementalBy.column);
      const recompute = new Set(
        lakeDatasetsOf(model.name, byName, 'views').flatMap((d) => [...(changed.get(d) ?? [])]),
      );
      days = recompute.size;
      await connection.run(
        `create or replace temp table cityhub_recomputed_days as select cast(unnest(${dateList(recompute)}) as date) as day`,
      );
      const body = rename(model.body, deltaViews);
      await run(
        model,
        `create table ${table} as select * from ${PREVIOUS}.${table} where ${dayColumn} not in (select day from cityhub_recomputed_days)`,
      );
      await run(
        model,
        `insert into ${table} by name select * from (\n${body}\n) where ${dayColumn} in (select day from cityhub_recomputed_days)`,
      );
    } else if (
      model.header.incrementalBy?.kind === 'period' &&
      changed !== undefined &&
      previous?.models.get(model.name) === fingerprints.get(model.name) &&
      (await periodIncrementalApplies(connection, model, byName, periodModels))
    ) {
      mode = 'incremental';
      const facts = model.header.incrementalBy.facts;
      periods = await preparePeriodRecompute(connection, {
        model: model.name,
        facts,
        changedDays: (fact) =>
          new Set(lakeDatasetsOf(fact.relation, byName, 'all').flatMap((d) => [...(changed.get(d) ?? [])])),
        upstream: model.header.dependsOn.filter((d) => periodModels.has(d)),
        grains: declaredGrains(model.header.tests),
        previous: PREVIOUS,
      });
      await run(model, await copyUnchangedPeriodsSql(connection, model.name, PREVIOUS));
      const body = rename(
        model.body,
        new Map([
          [PERIODS_MODEL, recomputedPeriodsView(model.name)],
          ...facts.map((f) => [f.relation, recomputedFactsView(model.name, f.relation)] as const),
        ]),
      );
      await run(
        model,
        `insert into ${table} by name select * from (\n${body}\n) m where exists (select 1 from ${ident(recomputedPeriodsTable(model.name))} r where r.grain = m.grain and r.period = m.period)`,
      );
      periodModels.add(model.name);
    } else {
      mode = 'full';
      if (model.readsIndicators && !indicatorsChecked) {
        await checkIndicatorColumns(connection, project);
        indicatorsChecked = true;
      }
      await run(model, `create table ${table} as\n${sourceSql(model, false)}`);
    }
    const kind = mode === 'view' ? 'view' : 'table';
    if (created) await run(model, `comment on ${kind} ${table} is ${literal(model.header.description)}`);
    let rows: number | null = null;
    if (kind === 'table') {
      const reader = await connection.runAndReadAll(`select count(*) from ${table}`);
      rows = Number(reader.getRows()[0]?.[0] ?? 0);
    }
    const ms = Math.round(performance.now() - started);
    const recomputed = { ...(days === undefined ? {} : { days }), ...(periods === undefined ? {} : { periods }) };
    stats.push({ name: model.name, rows, ms, mode, ...recomputed });
    o.onProgress?.({ model: model.name, ms, mode, ...(rows === null ? {} : { rows }), ...recomputed });
  }

  if (!indicatorsChecked) await checkIndicatorColumns(connection, project);
  // In an incremental build the staging tests look at the changed days only: the other days passed them before,
  // and duplicates never cross days.
  const tests = await runDataTests(
    connection,
    project.models,
    () => true,
    (name) => deltaViews.get(name) ?? name,
  );
  // A copied table keeps the fingerprint it was built with: the next build must not take it for the current definition.
  const stored = new Map(fingerprints);
  for (const stat of stats) if (stat.mode === 'copied') stored.set(stat.name, previous!.models.get(stat.name)!);
  await writeBuildState(connection, {
    buildId,
    fingerprints: stored,
    project,
    stats,
    tests,
    previous: !!previous,
  });
  for (const delta of deltaViews.values()) await connection.run(`drop view ${ident(delta)}`);
  for (const name of periodModels) {
    const by = byName.get(name)!.header.incrementalBy;
    for (const fact of by?.kind === 'period' ? by.facts : []) {
      await connection.run(`drop view ${ident(recomputedFactsView(name, fact.relation))}`);
    }
    await connection.run(`drop view ${ident(recomputedPeriodsView(name))}`);
    await connection.run(`drop table ${ident(recomputedPeriodsTable(name))}`);
  }
  for (const view of lakeBoundViews(project.models).reverse())
    await run(view, `drop view if exists ${ident(view.name)}`);
  if (previous) await connection.run(`detach ${PREVIOUS}`);
  return { models: stats, tests, ...(reason === undefined ? {} : { fullBuildReason: reason }) };
}

/**
 * `hub_lake_days(dataset, day, fingerprint)`: the lake's day folders this build reads, with a fingerprint of each
 * folder's files. Models read it for the data span without reading the data; the next build compares the fingerprints
 * to find the changed days (incremental.ts).
 */
function loadLakeDays(
  connection: DuckDBConnection,
  lake: ReadonlyMap<DatasetName, ReadonlyMap<string, LakeDay>>,
): Promise<string> {
  return loadSeedTable(
    connection,
    LAKE_DAYS_TABLE,
    [
      { name: 'dataset', type: 'VARCHAR' },
      { name: 'day', type: 'DATE' },
      { name: 'fingerprint', type: 'VARCHAR' },
    ],
    [...lake].flatMap(([dataset, days]) => [...days].map(([day, { fingerprint }]) => ({ dataset, day, fingerprint }))),
  );
}

/**
 * `seed_evaluation(indicator_code, dimension, weight, full_score_at, dimension_weight)`: the scored indicators of the
 * evaluation scheme (config models.indicators.evaluation; by default every ratio indicator where higher is better).
 */
async function loadEvaluation(
  connection: DuckDBConnection,
  project: ModelProject,
  settings: IndicatorSettingsInput | undefined,
): Promise<string> {
  const scheme = indicatorSettingsSchema.parse(settings ?? {}).evaluation;
  const byCode = new Map(project.indicators.map((i) => [i.code, i]));
  const scored =
    scheme.indicators ??
    project.indicators
      .filter((i) => i.unit === 'ratio' && i.higher_is_better)
      .map((i) => ({ code: i.code, weight: 1, full_score_at: 1 }));
  const rows = scored.map((entry, index) => {
    const indicator = byCode.get(entry.code);
    if (indicator === undefined) {
      throw new ModelBuildError(
        'seed_evaluation',
        undefined,
        `-- models.indicators.evaluation.indicators[${index}].code: "${entry.code}" is not in the indicator catalog (${indicatorCatalogFile(project.sqlDir)})`,
        new Error(`unknown indicator ${entry.code}`),
      );
    }
    return {
      indicator_code: entry.code,
      dimension: indicator.dimension,
      weight: entry.weight,
      full_score_at: entry.full_score_at,
      dimension_weight: scheme.dimension_weights[indicator.dimension],
    };
  });
  return loadSeedTable(
    connection,
    'seed_evaluation',
    [
      { name: 'indicator_code', type: 'VARCHAR' },
      { name: 'dimension', type: 'VARCHAR' },
      { name: 'weight', type: 'DOUBLE' },
      { name: 'full_score_at', type: 'DOUBLE' },
      { name: 'dimension_weight', type: 'DOUBLE' },
    ],
    rows,
  );
}

/** Every indicator names a mart of the project and columns it has (a locality's typo fails the build, named). */
async function checkIndicatorColumns(connection: DuckDBConnection, project: ModelProject): Promise<void> {
  const reader = await connection.runAndReadAll(
    `select table_name, column_name from information_schema.columns where table_catalog = current_database() and table_schema = 'main'`,
  );
  const columns = new Set(reader.getRows().map(([t, c]) => `${t}.${c}`));
  const file = indicatorCatalogFile(project.sqlDir);
  project.indicators.forEach((indicator, i) => {
    if (!project.models.some((m) => m.name === indicator.mart && m.layer === 'marts')) {
      throw new ModelDefinitionError(
        file,
        `indicators[${i}].mart`,
        `${indicator.code}: no mart named ${indicator.mart}`,
      );
    }
    for (const { key, column } of indicatorColumns(indicator)) {
      if (!columns.has(`${indicator.mart}.${column}`)) {
        throw new ModelDefinitionError(
          file,
          `indicators[${i}].${key}`,
          `${indicator.code}: ${indicator.mart} has no column ${column}`,
        );
      }
    }
  });
}

/** The SQL with each relation named in `names` read from its replacement instead. */
function rename(sql: string, names: ReadonlyMap<string, string>): string {
  return sql.replace(/\b[a-z_][a-z0-9_]*\b/g, (name) => names.get(name) ?? name);
}

/**
 * Whether a period-incremental model can take rows over from the previous build: the cut-off did not move back, and
 * every table it reads besides its facts, int_periods and other period-incremental models built incrementally holds
 * the rows it held then (a table it reads that was rebuilt in full — a period-incremental one included — makes
 * it rebuild in full too).
 */
async function periodIncrementalApplies(
  connection: DuckDBConnection,
  model: ModelDefinition,
  byName: ReadonlyMap<string, ModelDefinition>,
  periodModels: ReadonlySet<string>,
): Promise<boolean> {
  if (model.header.incrementalBy?.kind !== 'period') return false;
  const facts = new Set(model.header.incrementalBy.facts.map((f) => f.relation));
  for (const dep of model.header.dependsOn) {
    const upstream = byName.get(dep);
    if (upstream?.header.incrementalBy?.kind === 'period' && !periodModels.has(dep)) return false;
  }
  try {
    const forward = await connection.runAndReadAll(
      `select (select data_cutoff from ${PREVIOUS}.hub_settings) <= (select data_cutoff from hub_settings)`,
    );
    if (forward.getRows()[0]?.[0] !== true) return false;
  } catch {
    return false;
  }
  const others = model.header.dependsOn.filter(
    (d) =>
      d !== PERIODS_MODEL &&
      !facts.has(d) &&
      !periodModels.has(d) &&
      !(seedNames as readonly string[]).includes(d) &&
      byName.get(d)?.header.materialization !== 'view',
  );
  return sameAsPrevious(connection, others, PREVIOUS);
}

function dateList(days: ReadonlySet<string>): string {
  return `[${[...days].map(literal).join(', ')}]::varchar[]`;
}

/** Attaches the published marts file read-only and reads its build state; a reason when it cannot be used. */
async function attachPrevious(
  connection: DuckDBConnection,
  martsPath: string,
): Promise<{ previous: PreviousBuild | undefined; reason?: string }> {
  if (!existsSync(martsPath)) return { previous: undefined, reason: 'no previous marts file' };
  try {
    await connection.run(`attach ${literal(martsPath)} as ${PREVIOUS} (read_only)`);
  } catch (err) {
    return { previous: undefined, reason: `the previous marts file cannot be read: ${(err as Error).message}` };
  }
  const previous = await readPreviousBuild(connection, PREVIOUS);
  if (previous === undefined) {
    await connection.run(`detach ${PREVIOUS}`);
    return { previous: undefined, reason: 'the previous marts file has no build state (an older release built it)' };
  }
  return { previous };
}

async function writeBuildState(
  connection: DuckDBConnection,
  s: {
    buildId: string;
    fingerprints: ReadonlyMap<string, string>;
    project: ModelProject;
    stats: ModelRunStat[];
    tests: DataTestResult[];
    previous: boolean;
  },
): Promise<void> {
  const tables = s.project.models.filter((m) => m.header.materialization !== 'view');
  await createTableWithRows(
    connection,
    MODEL_STATE_TABLE,
    [
      { name: 'model', type: 'VARCHAR' },
      { name: 'fingerprint', type: 'VARCHAR' },
    ],
    tables.map((m) => ({ model: m.name, fingerprint: s.fingerprints.get(m.name) })),
  );
  const outcome = (model: string) => {
    const failed = s.tests.filter((t) => t.model === model && !t.passed);
    return failed.length === 0 ? 'passed' : failed.some((t) => t.severity === 'error') ? 'failed' : 'warned';
  };
  const columns = [
    { name: 'build_id', type: 'VARCHAR' },
    { name: 'model', type: 'VARCHAR' },
    { name: 'materialization', type: 'VARCHAR' },
    { name: 'mode', type: 'VARCHAR' },
    { name: 'rows', type: 'BIGINT' },
    { name: 'days_recomputed', type: 'BIGINT' },
    { name: 'periods_recomputed', type: 'BIGINT' },
    { name: 'ms', type: 'BIGINT' },
    { name: 'tests', type: 'VARCHAR' },
  ] as const;
  await createTableWithRows(
    connection,
    RUN_LOG_TABLE,
    [...columns],
    s.stats.map((stat) => ({
      build_id: s.buildId,
      model: stat.name,
      materialization: s.project.models.find((m) => m.name === stat.name)!.header.materialization,
      mode: stat.mode,
      rows: stat.rows,
      days_recomputed: stat.days ?? null,
      periods_recomputed: stat.periods ?? null,
      ms: stat.ms,
      tests: outcome(stat.name),
    })),
  );
  if (s.previous) {
    // The log of earlier builds, newest first, up to RUN_LOG_BUILDS builds in all.
    try {
      await connection.run(
        `insert into ${RUN_LOG_TABLE} by name select * from ${PREVIOUS}.${RUN_LOG_TABLE} where build_id in (select distinct build_id from ${PREVIOUS}.${RUN_LOG_TABLE} order by build_id desc limit ${RUN_LOG_BUILDS - 1})`,
      );
    } catch {
      // A previous file without a run log (or with other columns) starts the log afresh.
    }
  }
  await connection.run(
    `comment on table ${MODEL_STATE_TABLE} is 'A fingerprint of each stored model''s definition and upstream, to tell what an incremental build may take over'`,
  );
  await connection.run(
    `comment on table ${RUN_LOG_TABLE} is 'One row per model and build: how it was built (view, full, incremental, copied), rows, lake days recomputed, duration, tests'`,
  );
}

/** Views that read the lake by path, directly or through another such view: they cannot stay in the marts file. */
export function lakeBoundViews(models: ModelDefinition[]): ModelDefinition[] {
  const bound = new Set<string>();
  for (const m of models) {
    if (m.header.materialization !== 'view') continue;
    if (m.sources.length > 0 || m.header.dependsOn.some((d) => bound.has(d))) bound.add(m.name);
  }
  return models.filter((m) => bound.has(m.name));
}

/**
 * Best-effort check that a model reads only what its header declares (DuckDB's parser lists the tables a query
 * names; it lists none when the query uses a table function in FROM, so some omissions go unnoticed).
 */
function checkDeclaredDependencies(connection: DuckDBConnection, project: ModelProject): void {
  const known = new Set<string>([...project.models.map((m) => m.name), ...seedNames]);
  for (const m of project.models) {
    const probe = m.body.replace(sourcePattern, (_all, _source, dataset: string) => `__lake__${dataset}`);
    let names: readonly string[];
    try {
      names = connection.getTableNames(probe, false);
    } catch {
      continue; // DuckDB reports syntax errors with better context when the model is built
    }
    for (const name of names) {
      if (name !== m.name && known.has(name) && !m.header.dependsOn.includes(name)) {
        throw new ModelDefinitionError(m.file, 'depends_on', `the SQL reads "${name}" but depends_on does not list it`);
      }
    }
  }
}
