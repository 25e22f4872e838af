import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { type DatasetName, datasetNames } from '../../schemas/index.js';
import { ModelCycleError, ModelDefinitionError } from './errors.js';
import { type ModelHeader, parseModelFile } from './header.js';
import { type Indicator, loadIndicatorCatalog } from './indicator-catalog.js';
import { expandMacros, loadMacros, type Macros } from './macros.js';
import { type EventClassEntry, loadEventClasses } from './seed-files.js';
import { seedNames } from './seeds.js';

export const layers = ['staging', 'intermediate', 'marts'] as const;
export type Layer = (typeof layers)[number];
const layerPrefix: Record<Layer, string> = { staging: 'stg_', intermediate: 'int_', marts: 'mart_' };

export interface ModelDefinition {
  name: string;
  file: string;
  layer: Layer;
  header: ModelHeader;
  /** SQL body after the header, macros expanded, with `{{ source('lake', '<dataset>') }}` placeholders. */
  body: string;
  /** Lake datasets the body reads through source(). */
  sources: DatasetName[];
  /** The body reads `{{ indicator_values() }}`: every catalog indicator's rows, from the marts the catalog names. */
  readsIndicators: boolean;
}

export interface ModelProject {
  sqlDir: string;
  /** The indicator catalog (seeds/indicators.json), loaded as seed_indicators. */
  indicators: Indicator[];
  /** The event classes with their names (seeds/event_classes.json), loaded as seed_event_classes. */
  eventClasses: EventClassEntry[];
  /** In build order: every model after everything it depends on. */
  models: ModelDefinition[];
}

/** `{{ source('lake', '<dataset>') }}` — the only template expression models may use. */
export const sourcePattern = /\{\{\s*source\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)\s*\}\}/g;
/** `{{ indicator_values() }}`: the rows of every indicator of the catalog (indicator-catalog.ts), as one relation. */
export const indicatorValuesPattern = /\{\{\s*indicator_values\(\s*\)\s*\}\}/g;

async function listSqlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listSqlFiles(path)));
    else if (entry.isFile() && entry.name.endsWith('.sql')) out.push(path);
  }
  return out.sort();
}

/** Reads and validates every model under sqlDir/{staging,intermediate,marts}, ordered for building. */
export async function loadProject(sqlDir: string): Promise<ModelProject> {
  const all = await listSqlFiles(sqlDir).catch((err: unknown) => {
    throw new ModelDefinitionError(sqlDir, 'sql', `cannot read the models folder: ${(err as Error).message}`, {
      cause: err,
    });
  });
  const files = all.filter((f) => !/^(seeds|macros)$/.test(relative(sqlDir, f).split(sep)[0]!));
  const macros = await loadMacros(sqlDir);
  const models = await Promise.all(
    files.map(async (file) => defineModel(sqlDir, file, await readFile(file, 'utf8'), macros)),
  );
  const indicators = await loadIndicatorCatalog(sqlDir);
  // A model reading the indicators' values depends on every mart the catalog names.
  for (const m of models) {
    if (m.readsIndicators) {
      const marts = indicators.map((i) => i.mart).filter((mart) => models.some((d) => d.name === mart));
      m.header.dependsOn = [...new Set([...m.header.dependsOn, ...marts])];
    }
  }
  return { sqlDir, models: orderModels(models), indicators, eventClasses: await loadEventClasses(sqlDir) };
}

export function defineModel(sqlDir: string, file: string, text: string, macros: Macros = new Map()): ModelDefinition {
  const parsed = parseModelFile(file, text);
  const { header } = parsed;
  const body = expandMacros(file, parsed.body, macros);
  const parts = relative(sqlDir, file).split(sep);
  const layer = parts[0] as Layer;
  if (parts.length < 2 || !(layers as readonly string[]).includes(layer)) {
    throw new ModelDefinitionError(
      file,
      'name',
      `models live in ${layers.map((l) => `${l}/`).join(', ')} of ${sqlDir}`,
    );
  }
  const fileName = parts[parts.length - 1]!.replace(/\.sql$/, '');
  if (header.name !== fileName) {
    throw new ModelDefinitionError(file, 'name', `"${header.name}" differs from the file name "${fileName}"`);
  }
  if (!header.name.startsWith(layerPrefix[layer])) {
    throw new ModelDefinitionError(file, 'name', `${layer} models are named ${layerPrefix[layer]}…`);
  }
  if (layer === 'marts' && header.materialization === 'view') {
    throw new ModelDefinitionError(file, 'materialization', 'marts are read on other machines: they must be tables');
  }
  const sources: DatasetName[] = [];
  for (const m of body.matchAll(sourcePattern)) {
    const [, source, dataset] = m;
    if (source !== 'lake' || !(datasetNames as string[]).includes(dataset!)) {
      throw new ModelDefinitionError(
        file,
        'sql',
        `unknown source('${source}', '${dataset}') (expected source('lake', <one of ${datasetNames.join(', ')}>))`,
      );
    }
    if (layer !== 'staging') throw new ModelDefinitionError(file, 'sql', 'only staging models read the lake');
    if (!sources.includes(dataset as DatasetName)) sources.push(dataset as DatasetName);
  }
  const readsIndicators = indicatorValuesPattern.test(body);
  indicatorValuesPattern.lastIndex = 0;
  if (readsIndicators && layer !== 'intermediate') {
    throw new ModelDefinitionError(file, 'sql', 'only intermediate models read {{ indicator_values() }}');
  }
  const leftover = body.replace(sourcePattern, '').replace(indicatorValuesPattern, '');
  if (/\{\{|\}\}/.test(leftover)) {
    throw new ModelDefinitionError(
      file,
      'sql',
      "unknown template expression (built in: {{ source('lake', '<dataset>') }}, {{ indicator_values() }}; macros are called as {{ name('argument', …) }})",
    );
  }
  return { name: header.name, file, layer, header, body, sources, readsIndicators };
}

/** The table of periods every model incremental by (grain, period) reads its periods from. */
export const PERIODS_MODEL = 'int_periods';

/**
 * Whether a relation's rows depend on the lake's data: it reads the lake, or the lake's day listing (hub_lake_days),
 * or a model that does (int_periods aside).
 */
export function isLakeBound(
  name: string,
  byName: ReadonlyMap<string, ModelDefinition>,
  seen = new Set<string>(),
): boolean {
  if (name === 'hub_lake_days') return true;
  // Its rows change with the lake's span: a period-incremental build compares them; a table reading it is compared
  // with its previous rows before the build takes any row over.
  if (name === PERIODS_MODEL) return false;
  const model = byName.get(name);
  if (model === undefined || seen.has(name)) return false;
  seen.add(name);
  return model.sources.length > 0 || model.header.dependsOn.some((d) => isLakeBound(d, byName, seen));
}

/**
 * A model incremental by (grain, period) recomputes the periods its facts' changed rows fall in: so everything it
 * reads from the lake must come through a declared fact (a stored table), another period-incremental model or
 * int_periods.
 */
function checkPeriodIncremental(m: ModelDefinition, byName: ReadonlyMap<string, ModelDefinition>): void {
  const by = m.header.incrementalBy;
  if (by?.kind !== 'period') return;
  if (!m.header.dependsOn.includes(PERIODS_MODEL)) {
    throw new ModelDefinitionError(
      m.file,
      'depends_on',
      `a model incremental by (grain, period) reads ${PERIODS_MODEL}`,
    );
  }
  const facts = new Set(by.facts.map((f) => f.relation));
  for (const fact of by.facts) {
    const model = byName.get(fact.relation);
    if (!m.header.dependsOn.includes(fact.relation) || model === undefined || model.header.materialization === 'view') {
      throw new ModelDefinitionError(
        m.file,
        'period_facts',
        `"${fact.relation}" must be a table or incremental model the model depends on (the previous build's rows are compared)`,
      );
    }
  }
  for (const dep of m.header.dependsOn) {
    if (dep === PERIODS_MODEL || facts.has(dep) || byName.get(dep)?.header.incrementalBy?.kind === 'period') continue;
    if (isLakeBound(dep, byName)) {
      throw new ModelDefinitionError(
        m.file,
        'period_facts',
        `the model reads "${dep}", which depends on the lake, but period_facts does not list it: its changes would go unseen`,
      );
    }
  }
}

/** Validates names and dependencies, then orders topologically (stable: layer, then name). */
export function orderModels(models: ModelDefinition[]): ModelDefinition[] {
  const byName = new Map<string, ModelDefinition>();
  for (const m of models) {
    const other = byName.get(m.name);
    if (other) throw new ModelDefinitionError(m.file, 'name', `"${m.name}" is also defined in ${other.file}`);
    if ((seedNames as readonly string[]).includes(m.name)) {
      throw new ModelDefinitionError(m.file, 'name', `"${m.name}" is the name of a seed table`);
    }
    byName.set(m.name, m);
  }
  for (const m of models) {
    for (const dep of m.header.dependsOn) {
      if (dep === m.name) throw new ModelDefinitionError(m.file, 'depends_on', `"${m.name}" depends on itself`);
      if (!byName.has(dep) && !(seedNames as readonly string[]).includes(dep)) {
        throw new ModelDefinitionError(m.file, 'depends_on', `unknown model "${dep}"`);
      }
    }
    const mart = m.layer === 'marts' ? m.header.dependsOn.find((d) => byName.get(d)?.layer === 'marts') : undefined;
    if (mart !== undefined) {
      // A mart is a published snapshot of its own: what two marts share is an intermediate model they both read.
      throw new ModelDefinitionError(
        m.file,
        'depends_on',
        `a mart reads intermediate models, not other marts ("${mart}"): move the shared logic into an int_ model`,
      );
    }
    if (m.header.incrementalBy?.kind === 'day') {
      // Its rows of a day may only depend on that day's lake files and on the seeds (whose changes its fingerprint
      // sees): a table upstream can change on any day without the lake day changing, and so does the cut-off.
      const other = m.header.dependsOn.find(
        (d) =>
          d === 'hub_settings' ||
          d === 'hub_lake_days' ||
          (!(seedNames as readonly string[]).includes(d) && byName.get(d)?.layer !== 'staging'),
      );
      if (other !== undefined) {
        throw new ModelDefinitionError(
          m.file,
          'depends_on',
          other === 'hub_settings' || other === 'hub_lake_days'
            ? `an incremental model by lake day cannot read ${other}: it changes every day (make the model a table)`
            : `an incremental model reads only staging models and seeds; "${other}" is neither (make the model a table)`,
        );
      }
    }
    if (m.header.incrementalBy?.kind === 'period') checkPeriodIncremental(m, byName);
    for (const t of m.header.tests) {
      if (
        t.kind === 'relationships' &&
        !byName.has(t.toModel) &&
        !(seedNames as readonly string[]).includes(t.toModel)
      ) {
        throw new ModelDefinitionError(m.file, 'tests', `${t.name}: unknown model "${t.toModel}"`);
      }
    }
  }
  const sorted = [...models].sort(
    (a, b) => layers.indexOf(a.layer) - layers.indexOf(b.layer) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const ordered: ModelDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: ModelDefinition, path: string[]): void => {
    const s = state.get(m.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(m.name)), m.name];
      throw new ModelCycleError(
        cycle,
        cycle.slice(0, -1).map((n) => byName.get(n)!.file),
      );
    }
    state.set(m.name, 'visiting');
    for (const dep of m.header.dependsOn) {
      const d = byName.get(dep);
      if (d) visit(d, [...path, m.name]);
    }
    state.set(m.name, 'done');
    ordered.push(m);
  };
  for (const m of sorted) visit(m, []);
  return ordered;
}
