/**
 * Where a config puts its files: the bus, the lake (or an S3 lake's local mirror), the marts and the SQL models.
 * loadConfig resolves them from the validated config. `cityhub query`, which needs nothing else, reads them from the
 * config as written (pathsAsWritten) and so loads neither zod nor the config schema: a third of its start-up.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { packageRoot } from '../package-root.js';
import { demoConfig } from './demo-config.js';
import { interpolate, readRawConfig } from './raw.js';

/** `data_dir` when the config sets none. */
export const DEFAULT_DATA_DIR = 'data';

export interface ConfigPaths {
  busDir: string;
  /**
   * The folder DuckDB reads the lake from (models, `cityhub query`): the lake itself when local; for `lake.type:
   * s3`, the local mirror of the bucket (`<lakeCacheDir>/mirror`, synced before each models build).
   */
  lakeDir: string;
  /** `lake.cache_dir`: an S3 lake's staging uploads and read cache (default `<data_dir>/lake-cache`). */
  lakeCacheDir: string;
  martsPath: string;
  sqlDir: string;
  baseDir: string;
  /** `<data_dir>/federation`: what a province or national hub pulled from its members (pipelines/federation). */
  federationDir: string;
}

/** The keys of a config that name its files (their defaults applied). */
interface PathKeys {
  data_dir: string;
  bus: { type: string; dir?: string | undefined };
  lake: { type: string; path?: string | undefined; cache_dir?: string | undefined };
  models: { marts_path?: string | undefined; sql_dir?: string | undefined };
}

/** The paths a config names, relative ones resolved against `baseDir` (the config file's folder). */
export function resolvePaths(keys: PathKeys, baseDir: string): ConfigPaths {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const dataDir = at(keys.data_dir);
  const { bus, lake, models } = keys;
  const lakeCacheDir = lake.type === 's3' && lake.cache_dir ? at(lake.cache_dir) : resolve(dataDir, 'lake-cache');
  let lakeDir: string;
  if (lake.type === 's3') lakeDir = resolve(lakeCacheDir, 'mirror');
  else lakeDir = lake.path ? at(lake.path) : resolve(dataDir, 'lake');
  return {
    baseDir,
    busDir: bus.type === 'embedded' && bus.dir ? at(bus.dir) : resolve(dataDir, 'bus'),
    lakeDir,
    lakeCacheDir,
    martsPath: models.marts_path ? at(models.marts_path) : resolve(dataDir, 'marts.duckdb'),
    sqlDir: models.sql_dir ? at(models.sql_dir) : resolve(packageRoot(), 'sql'),
    federationDir: resolve(dataDir, 'federation'),
  };
}

/**
 * The paths of a config (the built-in demo's without one) read from the config as written, or undefined when its path
 * keys are not all what the schema takes, or a `${VAR}` has no value: loadConfig then says what is wrong.
 */
export function pathsAsWritten(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConfigPaths | undefined {
  const issues: Parameters<typeof interpolate>[3] = [];
  const config = interpolate(file ? readRawConfig(file) : demoConfig, '', env, issues);
  if (issues.length > 0 || !isObject(config)) return undefined;
  const bus = config.bus ?? { type: 'embedded' };
  const lake = config.lake ?? { type: 'local' };
  const models = config.models ?? {};
  const dataDir = config.data_dir ?? DEFAULT_DATA_DIR;
  if (!isObject(bus) || !isObject(lake) || !isObject(models) || typeof dataDir !== 'string') return undefined;
  if ((bus.type !== 'embedded' && bus.type !== 'kafka') || (lake.type !== 'local' && lake.type !== 's3'))
    return undefined;
  const optional = [bus.dir, lake.path, lake.cache_dir, models.marts_path, models.sql_dir];
  if (!optional.every((value) => value === undefined || typeof value === 'string')) return undefined;
  return resolvePaths(
    { data_dir: dataDir, bus, lake, models } as PathKeys,
    file ? dirname(resolve(file)) : process.cwd(),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
