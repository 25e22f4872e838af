import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { demoConfig } from './demo-config.js';
import { type ConfigPaths, resolvePaths } from './paths.js';
import { interpolate, readRawConfig } from './raw.js';
import { type HubConfig, hubConfig, secretKeyPattern } from './schema.js';

export { DEMO_PORTS, demoConfig, demoConnectors } from './demo-config.js';

/** Where the lake lives, for people: the local folder, or `s3://bucket/prefix` (its mirror is a cache, not the lake). */
export function lakeLocation(loaded: LoadedConfig): string {
  const { lake } = loaded.config;
  return lake.type === 's3' ? `s3://${lake.bucket}/${lake.prefix}` : loaded.paths.lakeDir;
}

export interface LoadedConfig {
  config: HubConfig;
  /** The file it came from; undefined for the built-in demo. */
  file: string | undefined;
  /** The config as written, before `${VAR}` interpolation: what messages may show, and how a value was given. */
  raw?: unknown;
  paths: ConfigPaths;
}

/** Reads, interpolates and validates a config. Throws ConfigError naming every bad key before any work starts. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const raw = file ? readRawConfig(file) : demoConfig;
  const issues: ConfigIssue[] = [];
  const interpolated = interpolate(raw, '', env, issues);
  if (issues.length > 0) throw new ConfigError(file, issues);
  const parsed = hubConfig.safeParse(interpolated);
  if (!parsed.success) throw new ConfigError(file, zodIssues(parsed.error, raw));
  const config = parsed.data;
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  return { config, file, raw, paths: resolvePaths(config, baseDir) };
}

function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/**
 * zod issues → config issues, showing the value as written in the file (so secrets stay `${VAR}` references); a
 * secret written in clear is not echoed.
 */
function zodIssues(error: z.ZodError, raw: unknown): ConfigIssue[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? ` (unknown keys: ${issue.keys.join(', ')})` : '';
    const path = formatPath(issue.path);
    const written = valueAt(raw, issue.path);
    const value =
      typeof written === 'string' && secretKeyPattern.test(path) && !/^\$\{[^}]*\}$/.test(written) ? '••••••' : written;
    return {
      path,
      ...(value !== undefined && typeof value !== 'object' ? { value } : {}),
      expected: issue.message + keys,
    };
  });
}
