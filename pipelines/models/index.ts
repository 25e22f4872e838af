/**
 * The SQL models runner: builds sql/{staging,intermediate,marts} into a self-contained DuckDB marts file,
 * runs the data tests declared in the model headers, and answers read-only queries on the result.
 */

export { describeLockHolder, type LockHolder, withBuildLock } from './build-lock.js';
export type { DataTestResult } from './data-tests.js';
export { writeModelsDocs } from './docs.js';
export {
  type DataTestFailure,
  DataTestsFailedError,
  FileAccessQueryError,
  MartsFileError,
  MartsQueryError,
  ModelBuildError,
  ModelCycleError,
  ModelDefinitionError,
  ReadOnlyQueryError,
  UnknownModelSelectedError,
} from './errors.js';
export { createRowWriter, formatRows, type RowFormat, type RowWriter } from './format.js';
export type { DataTestSeverity, DataTestSpec, Materialization, ModelHeader } from './header.js';
export { parseModelFile } from './header.js';
export { describeLakeSync, type LakeSyncOptions, syncModelsLake } from './lake-sync.js';
export { loadProject, type ModelDefinition, type ModelProject } from './project.js';
export {
  type JsValue,
  type QueryConsumer,
  type QueryOptions,
  type QueryResult,
  queryMarts,
  streamQuery,
} from './query.js';
export {
  type BuildMode,
  type ModelRunStat,
  type ModelsRunOptions,
  type ModelsRunResult,
  runModels,
  testModels,
} from './run.js';
export { type ModelCatalogs, seedNames } from './seeds.js';
