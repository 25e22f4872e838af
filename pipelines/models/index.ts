/**
 * The SQL models runner: builds sql/{staging,intermediate,marts} into a self-contained DuckDB marts file,
 * runs the data tests declared in the model headers, and answers read-only queries on the result.
 */
export type { DataTestResult } from './data-tests.js';
export {
  MartsFileError,
  MartsQueryError,
  ModelBuildError,
  ModelCycleError,
  ModelDefinitionError,
  ReadOnlyQueryError,
} from './errors.js';
export { formatRows, type RowFormat } from './format.js';
export type { DataTestSpec, Materialization, ModelHeader } from './header.js';
export { parseModelFile } from './header.js';
export { loadProject, type ModelDefinition, type ModelProject } from './project.js';
export { type JsValue, type QueryResult, queryMarts } from './query.js';
export { type ModelRunStat, type ModelsRunOptions, type ModelsRunResult, runModels, testModels } from './run.js';
export { type ModelCatalogs, seedNames } from './seeds.js';
