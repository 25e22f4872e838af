/**
 * The config as written: read from its file (YAML, or JSON by its extension) and with `${VAR}` references filled in
 * from the environment. No schema here: loadConfig validates it, `cityhub query` only reads where its files are.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConfigError, type ConfigIssue } from '../errors.js';

/** The YAML parser, loaded when a YAML file is read: the built-in demo and JSON configs do without it. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

/** The file's content as data. Throws ConfigError when it cannot be read or is not valid YAML (or JSON). */
export function readRawConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ path: '', expected: `a readable config file (${(error as Error).message})` }]);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [
      { path: '', expected: `valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}` },
    ]);
  }
}

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string; a missing variable without default is an issue at its key path. */
export function interpolate(value: unknown, path: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') {
    return value.replace(reference, (whole, name: string, fallback: string | undefined) => {
      // An own property only: `${constructor}` names no variable, not Object's constructor.
      const found = Object.hasOwn(env, name) ? env[name] : undefined;
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      issues.push({ path, value: whole, expected: `environment variable ${name} to be set` });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, `${path}[${i}]`, env, issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, path ? `${path}.${key}` : key, env, issues)]),
    );
  }
  return value;
}
