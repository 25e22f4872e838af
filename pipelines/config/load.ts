import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { type HubConfig, hubConfig, secretKeyPattern } from './schema.js';

/** Loopback ports of the built-in demo: its MQTT broker, the hub's http-ingest listener, its 12345 API. */
export const DEMO_PORTS = { mqtt: 18830, ingest: 18080, hotlineApi: 18345 } as const;
const DEMO_WEBHOOK_SECRET = '${CITYHUB_DEMO_WEBHOOK_SECRET:-cityhub-demo-webhook-secret}';

/**
 * The built-in demo's connectors. The demo city reaches the hub the way a real one does (connectors/demo/README.md
 * "Over the wire"): its sensors publish to an MQTT broker it runs, its video platform posts signed webhooks and its
 * event system NDJSON pushes to the hub's http-ingest listener, it serves a 12345 work-order API that hotline-rest
 * polls, and its departments deliver files into <data_dir>/demo-inbox, read by one dept-files connector per format.
 * The demo comes first: it starts its broker and API (and writes its history files) before the others start, and
 * it stops first. Tests pass their own free ports.
 */
export function demoConnectors(ports: { mqtt: number; ingest: number; hotlineApi: number } = DEMO_PORTS) {
  return [
    {
      id: 'demo',
      kind: 'demo',
      inbox: 'data/demo-inbox',
      wire: {
        mqtt: { port: ports.mqtt, topic_prefix: 'city/sensors' },
        video_webhook: { url: `http://127.0.0.1:${ports.ingest}/push/video`, secret: DEMO_WEBHOOK_SECRET },
        event_push: { url: `http://127.0.0.1:${ports.ingest}/push/events` },
        hotline_api: { port: ports.hotlineApi },
      },
    },
    {
      id: 'sensors',
      kind: 'sensor-mqtt',
      url: `mqtt://127.0.0.1:${ports.mqtt}`,
      client_id: 'cityhub-demo-sensors',
      topics: ['city/sensors/+'],
    },
    {
      id: 'push',
      kind: 'http-ingest',
      listen: { port: ports.ingest },
      sources: [
        { id: 'video', kind: 'video-webhook', path: '/push/video', signature: { keys: { demo: DEMO_WEBHOOK_SECRET } } },
        { id: 'events', kind: 'sensor-bulk', feed: 'event', path: '/push/events' },
      ],
    },
    {
      id: 'hotline',
      kind: 'hotline-rest',
      base_url: `http://127.0.0.1:${ports.hotlineApi}`,
      path: '/api/orders',
      poll_interval_ms: 1000,
    },
    demoDeptFiles('demo-csv', { format: 'csv', encoding: 'gbk', header_row: 'auto' }),
    demoDeptFiles('demo-xlsx', { format: 'xlsx' }),
    demoDeptFiles('demo-ndjson', { format: 'ndjson' }),
  ] as const;
}

/** The embedded demo city, used when no config file is given. */
export const demoConfig = {
  region_code: '330000',
  tier: 'province',
  privacy: { hmac_key: '${CITYHUB_HMAC_KEY:-cityhub-demo-key-not-for-production}', key_id: 'demo' },
  // The first rows land after 1 s, so the first indicators come soon after start.
  landing: { first_flush_age_ms: 1_000 },
  connectors: demoConnectors(),
} as const;

/** A dept-files connector reading the demo inbox's folder of one format (names: <resource>_<YYYYMMDDHHmmss>…). */
function demoDeptFiles(id: string, read: { format: 'csv' | 'xlsx' | 'ndjson'; encoding?: 'gbk'; header_row?: 'auto' }) {
  return {
    id,
    kind: 'dept-files',
    // The demo writes each file under a dot-name and renames it: complete when it appears, no settling needed.
    source: { type: 'folder', path: `data/demo-inbox/${read.format}`, settle_ms: 0 },
    read,
    // How the demo names its files (connectors/demo/dept-files.ts; a demo test keeps the two in step).
    resource: { from: 'file_name', pattern: '^(?<resource>R\\d{9})_' },
    delivered_at: { pattern: '_(?<time>\\d{14})[._]', format: 'YYYYMMDDHHmmss' },
    // A bounded run (`run --for 1s`) stops it right after start: it still delivers the history files present.
    drain_on_stop: true,
  } as const;
}

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
  paths: {
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
  };
}

/** Reads, interpolates and validates a config. Throws ConfigError naming every bad key before any work starts. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let raw: unknown = demoConfig;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(file, [{ path: '', expected: `a readable config file (${(error as Error).message})` }]);
    }
    try {
      raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw new ConfigError(file, [
        { path: '', expected: `valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}` },
      ]);
    }
  }
  const issues: ConfigIssue[] = [];
  const interpolated = interpolate(raw, '', env, issues);
  if (issues.length > 0) throw new ConfigError(file, issues);
  const parsed = hubConfig.safeParse(interpolated);
  if (!parsed.success) throw new ConfigError(file, zodIssues(parsed.error, raw));
  const config = parsed.data;
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const dataDir = at(config.data_dir);
  const lakeCacheDir =
    config.lake.type === 's3' && config.lake.cache_dir ? at(config.lake.cache_dir) : resolve(dataDir, 'lake-cache');
  return {
    config,
    file,
    raw,
    paths: {
      baseDir,
      busDir: config.bus.type === 'embedded' && config.bus.dir ? at(config.bus.dir) : resolve(dataDir, 'bus'),
      lakeDir: lakeDirOf(config.lake, at, dataDir, lakeCacheDir),
      lakeCacheDir,
      martsPath: config.models.marts_path ? at(config.models.marts_path) : resolve(dataDir, 'marts.duckdb'),
      sqlDir: config.models.sql_dir ? at(config.models.sql_dir) : resolve(packageRoot(), 'sql'),
      federationDir: resolve(dataDir, 'federation'),
    },
  };
}

/** Where DuckDB reads the lake: the local lake's folder, or the S3 lake's mirror (S3LakeStore.mirrorDir). */
function lakeDirOf(lake: HubConfig['lake'], at: (p: string) => string, dataDir: string, cacheDir: string): string {
  if (lake.type === 's3') return resolve(cacheDir, 'mirror');
  return lake.path ? at(lake.path) : resolve(dataDir, 'lake');
}

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string; a missing variable without default is an issue at its key path. */
function interpolate(value: unknown, path: string, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
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
