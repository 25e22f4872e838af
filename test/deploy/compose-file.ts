/**
 * Readers of the deployment files as Docker reads them, for test/deploy/compose.test.ts: no Docker engine runs
 * here, so the test checks what Docker would be given (the compose model after YAML merge keys and `${VAR}`
 * interpolation, the Dockerfile's stages, the build context the .dockerignore leaves).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../support/hub-process.js';

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  env_file?: unknown;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export const composeText = () => readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8');

/** The compose model with YAML merge keys (`<<: *anchor`) applied, as compose applies them. */
export function readCompose(): ComposeFile {
  return parse(composeText(), { merge: true }) as ComposeFile;
}

/** `KEY=value` lines of an env file (compose's .env syntax: `#` comments, blank lines, optional quotes). */
export function readEnvFile(path: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq < 1) throw new Error(`${path}: not KEY=value: ${line}`);
    vars.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).replace(/^(['"])(.*)\1$/, '$2'));
  }
  return vars;
}

/** One `${…}` reference in the compose file: its variable and how a missing value is handled. */
export interface VariableReference {
  text: string;
  name: string;
  /** `:-`/`-` (default), `:?`/`?` (required, with a message), or none. */
  modifier: ':-' | '-' | ':?' | '?' | ':+' | '+' | undefined;
}

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g;

/** Every `${VAR…}` reference (a `$${…}` is a literal for the container's shell, not a reference). */
export function variableReferences(text: string): VariableReference[] {
  const out: VariableReference[] = [];
  for (const match of text.replaceAll('$$', '').matchAll(reference))
    out.push({ text: match[0], name: match[1]!, modifier: match[2] as VariableReference['modifier'] });
  return out;
}

/** A variable compose refuses to start without (`${VAR:?message}` with VAR unset or empty). */
export class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(`required variable ${variable} is missing a value`);
  }
}

const referenceOrEscape = new RegExp(`\\$\\$|${reference.source}`, 'g');

/** Compose's interpolation of one value: `${VAR}`, `${VAR:-default}`, `${VAR:?message}`, `$$` → `$`. */
export function interpolate(value: string, env: ReadonlyMap<string, string>): string {
  return value.replace(referenceOrEscape, (whole, name: string, modifier: string | undefined, arg: string) => {
    if (whole === '$$') return '$';
    const found = env.get(name);
    const set = found !== undefined;
    const nonEmpty = set && found !== '';
    switch (modifier) {
      case ':-':
        return nonEmpty ? found : arg;
      case '-':
        return set ? found : arg;
      case ':?':
        if (!nonEmpty) throw new MissingVariableError(name);
        return found;
      case '?':
        if (!set) throw new MissingVariableError(name);
        return found;
      case ':+':
        return nonEmpty ? arg : '';
      case '+':
        return set ? arg : '';
      default:
        return found ?? '';
    }
  });
}

/** The environment a service's container receives, its `${…}` filled from `dotEnv` (the project's .env). */
export function serviceEnvironment(
  service: ComposeService,
  dotEnv: ReadonlyMap<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value ?? ''), dotEnv)]),
  );
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  /** A bind mount of a path in the project (`./…`), else a named volume. */
  bind: boolean;
}

/** A compose short-syntax volume, `SOURCE:TARGET[:ro]`. */
export function parseMount(spec: string): Mount {
  const [source, target, mode] = spec.split(':');
  if (source === undefined || target === undefined) throw new Error(`not SOURCE:TARGET: ${spec}`);
  return { source, target, readOnly: mode === 'ro', bind: source.startsWith('.') || source.startsWith('/') };
}

export interface DockerfileStage {
  from: string;
  name: string | undefined;
  instructions: { keyword: string; args: string }[];
}

/** The Dockerfile's stages with their instructions (continuation lines joined, comments dropped). */
export function readDockerfile(): DockerfileStage[] {
  const text = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: DockerfileStage[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(trimmed) ?? [];
    if (keyword === undefined || args === undefined) throw new Error(`Dockerfile: cannot read ${line}`);
    if (keyword.toUpperCase() === 'FROM') {
      const [from, as, name] = args.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

/** The .dockerignore patterns as regular expressions over context-relative paths (negations not used here). */
export function dockerignorePatterns(): { pattern: string; matches: (path: string) => boolean }[] {
  return readFileSync(join(projectRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((pattern) => {
      const source = pattern
        .replace(/^\//, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replaceAll('\u0000', '(?:.*/)?');
      // A pattern matching a folder excludes everything under it.
      const regex = new RegExp(`^${source}(?:/.*)?$`);
      return { pattern, matches: (path: string) => regex.test(path) };
    });
}
