import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cron from 'node-cron';
import type { Feed } from '../../connectors/types.js';
import type { CatalogName, Region } from '../../schemas/index.js';
import { describeProblem, importCatalogFile } from '../catalogs/import.js';
import type { Catalogs } from '../catalogs/load.js';
import {
  type CatalogProviders,
  type CatalogSources,
  planCatalogSources,
  registryProviders,
} from '../catalogs/sources.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { compileMapping, type LoadedMapping, MappingCompileError } from '../mapping/compile.js';
import { loadMappingFile, MappingFileError } from '../mapping/load.js';
import type { SourceMapping } from '../normalize/mappings/index.js';
import { Normalizer } from '../normalize/normalizer.js';
import { readTlsFiles, TlsFileError, type TlsFilesConfig } from '../tls-files.js';
import type { LoadedConfig } from './load.js';

export interface PreflightResult {
  /** Where each catalog comes from (shown by `config check`, logged by `run`). */
  catalogSources: CatalogSources;
  /** The catalogs preflight already read from files (regions always); connector-provided ones come later. */
  catalogs: Partial<Catalogs> & { regions: Region[] };
  /** What is allowed but weakens a guarantee, one line each (shown by `config check`, logged by `run`). */
  warnings: string[];
  /** The mapping files the config names, read and validated (compiled by the hub against every catalog). */
  mappings: ConfiguredMappings;
}

export type MappedFeed = keyof LoadedConfig['config']['mappings'];
export interface ConfiguredMappings {
  /** `mappings.<feed>`: the mapping of a feed's messages unless their source has its own. */
  byFeed: Partial<Record<MappedFeed, LoadedMapping>>;
  /** source id (`cityhub-source`: a connector's id, or one of its `sources`) → its `mapping`: what that source sends. */
  bySource: ReadonlyMap<string, LoadedMapping>;
}

/**
 * Everything `run` would reject, checked before anything is written: it only reads (config, catalog files, folder
 * metadata). `cityhub config check` and `runHub` both call it, so a config that passes the check does not fail at
 * start. Throws one ConfigError listing every problem, one line each, naming its key.
 */
export function preflight(loaded: LoadedConfig, providers: CatalogProviders = registryProviders): PreflightResult {
  const issues: ConfigIssue[] = [
    ...duplicateConnectorIds(loaded),
    ...scheduleIssues(loaded),
    ...folderIssues(loaded),
    ...tlsFileIssues(loaded),
    ...s3LakeIssues(loaded),
  ];
  const planned = planCatalogSources(loaded, providers);
  issues.push(...planned.issues);
  const catalogs: Partial<Catalogs> = {};
  const catalogWarnings: string[] = [];
  for (const name of catalogNames) {
    const source = planned.sources[name];
    if (source?.kind !== 'file' && source?.kind !== 'bundled') continue;
    // Regions come first: the other catalogs' region codes are checked against them. One issue per problem.
    const imported = importCatalogFile(name, source.path, { regions: catalogs.regions });
    catalogWarnings.push(...imported.warnings);
    if (imported.problems.length === 0) readCatalogInto(catalogs, name, imported.entries);
    for (const problem of imported.problems)
      issues.push({ path: `catalogs.${name}`, expected: `a valid ${name} catalog: ${describeProblem(problem)}` });
  }
  const { region_code } = loaded.config;
  if (catalogs.regions && !catalogs.regions.some((r) => r.code === region_code)) {
    const from = planned.sources.regions?.kind === 'file' ? 'catalogs.regions' : 'the bundled Zhejiang catalog';
    issues.push({
      path: 'region_code',
      value: region_code,
      expected: `a region listed in the region catalog (${from})`,
    });
  }
  const mappings = mappingFiles(loaded, catalogs, issues);
  if (issues.length > 0) throw new ConfigError(loaded.file, issues);
  return {
    catalogSources: planned.sources as CatalogSources,
    catalogs: catalogs as PreflightResult['catalogs'],
    mappings,
    warnings: [
      ...catalogWarnings,
      ...undeclaredResourceFields(catalogs.data_resources ?? []),
      ...mqttWarnings(loaded),
      ...s3LakeWarnings(loaded),
    ],
  };
}

/** Resources whose records can only be checked by the fallback rule (docs/feeds.md "Record validation"). */
export function undeclaredResourceFields(resources: readonly { resource_code: string; fields?: unknown }[]): string[] {
  const bare = resources.filter((r) => r.fields === undefined).map((r) => r.resource_code);
  if (bare.length === 0) return [];
  const shown = bare.slice(0, 10).join(', ') + (bare.length > 10 ? `, … (${bare.length} in all)` : '');
  return [
    `catalogs.data_resources: ${bare.length} resource(s) declare no fields (${shown}); their records count as valid when they hold any non-empty value, so quality_rate cannot see bad values`,
  ];
}

const catalogNames = ['regions', 'data_resources', 'scenarios', 'devices'] as const satisfies readonly CatalogName[];

function readCatalogInto<N extends CatalogName>(catalogs: Partial<Catalogs>, name: N, entries: Catalogs[N]): void {
  catalogs[name] = entries;
}

function duplicateConnectorIds({ config }: LoadedConfig): ConfigIssue[] {
  const firstAt = new Map<string, number>();
  const issues: ConfigIssue[] = [];
  for (const [index, connector] of config.connectors.entries()) {
    const first = firstAt.get(connector.id);
    if (first === undefined) firstAt.set(connector.id, index);
    else
      issues.push({
        path: `connectors[${index}].id`,
        value: connector.id,
        expected: `an id no other connector has (connectors[${first}] is also "${connector.id}"; ids name checkpoints and _source)`,
      });
  }
  // The sources of a multi-source connector (http-ingest) stamp their own ids as _source: no other may share one.
  for (const [index, connector] of config.connectors.entries()) {
    if (!('sources' in connector)) continue;
    for (const [i, source] of connector.sources.entries()) {
      const other = firstAt.get(source.id);
      if (other === undefined) firstAt.set(source.id, index);
      else if (other !== index)
        issues.push({
          path: `connectors[${index}].sources[${i}].id`,
          value: source.id,
          expected: `a source id no other connector uses (connectors[${other}] has "${source.id}"; ids name _source)`,
        });
    }
  }
  return issues;
}

function scheduleIssues({ config }: LoadedConfig): ConfigIssue[] {
  const schedules: { key: string; schedule: string | undefined }[] = [
    { key: 'models.schedule', schedule: config.models.schedule },
    { key: 'lake.compaction.schedule', schedule: config.lake.compaction.schedule },
  ];
  const issues: ConfigIssue[] = [];
  for (const { key, schedule } of schedules) {
    if (schedule === undefined || cron.validate(schedule)) continue;
    const detail = cron.validateDetailed(schedule).errors.map((e) => e.message);
    issues.push({
      path: key,
      value: schedule,
      expected: `a cron expression node-cron accepts ([second] minute hour day-of-month month day-of-week)${detail.length > 0 ? `: ${detail.join('; ')}` : ''}`,
    });
  }
  return issues;
}

/** Every folder `run` creates or writes must be a folder this user can write, or creatable where it is. */
function folderIssues({ config, paths }: LoadedConfig): ConfigIssue[] {
  const at = (p: string) => resolve(paths.baseDir, p);
  const folders: { key: string; value: string; dir: string }[] = [
    { key: 'data_dir', value: config.data_dir, dir: at(config.data_dir) },
  ];
  if (config.bus.type === 'embedded' && config.bus.dir)
    folders.push({ key: 'bus.dir', value: config.bus.dir, dir: paths.busDir });
  if (config.lake.type === 'local' && config.lake.path)
    folders.push({ key: 'lake.path', value: config.lake.path, dir: paths.lakeDir });
  if (config.lake.type === 's3' && config.lake.cache_dir)
    folders.push({ key: 'lake.cache_dir', value: config.lake.cache_dir, dir: paths.lakeCacheDir });
  if (config.models.marts_path)
    folders.push({ key: 'models.marts_path', value: config.models.marts_path, dir: dirname(paths.martsPath) });
  const issues: ConfigIssue[] = [];
  for (const { key, value, dir } of folders) {
    const problem = writableFolderProblem(dir);
    if (problem) issues.push({ path: key, value, expected: `a folder this user can write (${problem})` });
  }
  if (config.models.sql_dir && !isDirectory(paths.sqlDir))
    issues.push({
      path: 'models.sql_dir',
      value: config.models.sql_dir,
      expected: `a folder of SQL models (${paths.sqlDir} is not a folder)`,
    });
  return issues;
}

/** The PEM files of sensor-mqtt `tls` and the Kafka bus's `bus.tls`, read as at start (relative to the config). */
function tlsFileIssues({ config, paths }: LoadedConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (tls: TlsFilesConfig | undefined, at: string) => {
    try {
      readTlsFiles(tls, paths.baseDir, at);
    } catch (error) {
      if (!(error instanceof TlsFileError)) throw error;
      issues.push({
        path: error.key,
        value: error.value,
        expected: `a readable PEM file (${error.file} ${error.why})`,
      });
    }
  };
  for (const [index, connector] of config.connectors.entries())
    if (connector.kind === 'sensor-mqtt') check(connector.tls, `connectors[${index}].tls`);
  if (config.bus.type === 'kafka') check(config.bus.tls, 'bus.tls');
  return issues;
}

const s3KeyPair = ['access_key_id', 'secret_access_key'] as const;

/**
 * An S3 lake's keys come as a pair or not at all (then the AWS SDK's default chain supplies them): one without the
 * other would silently fall back to whatever credentials the machine has. The endpoint is not contacted here, as for
 * connectors' peers: `config check` only reads.
 */
function s3LakeIssues({ config }: LoadedConfig): ConfigIssue[] {
  const lake = config.lake;
  if (lake.type !== 's3') return [];
  const given = s3KeyPair.filter((key) => lake[key] !== undefined);
  if (given.length !== 1) return [];
  const [present, missing] = given[0] === 'access_key_id' ? s3KeyPair : [...s3KeyPair].reverse();
  return [
    {
      path: `lake.${missing}`,
      expected: `lake.${missing} beside lake.${present} (both, or neither for the AWS SDK's default credential chain)`,
    },
  ];
}

/** S3 keys written into the file itself instead of `${ENV_VAR}` references: allowed, but the file is now a secret. */
function s3LakeWarnings({ config, raw }: LoadedConfig): string[] {
  if (config.lake.type !== 's3' || raw === null || typeof raw !== 'object') return [];
  const written = (raw as { lake?: Record<string, unknown> }).lake;
  return s3KeyPair
    .filter((key) => typeof written?.[key] === 'string' && !(written[key] as string).includes('${'))
    .map(
      (key) =>
        `lake.${key} is written in the config file as a literal: anyone who can read the file has it; use a \${ENV_VAR} reference (docs/lake.md#s3-an-s3-compatible-bucket)`,
    );
}

/** sensor-mqtt options that are allowed but weaken a guarantee. */
function mqttWarnings({ config }: LoadedConfig): string[] {
  const warnings: string[] = [];
  for (const [index, c] of config.connectors.entries()) {
    if (c.kind !== 'sensor-mqtt') continue;
    if (c.qos === 0)
      warnings.push(
        `connectors[${index}].qos: 0 — the broker forgets each message once sent: what the hub has received but not yet appended is lost at a crash or disconnect`,
      );
    if (c.tls?.reject_unauthorized === false)
      warnings.push(
        `connectors[${index}].tls.reject_unauthorized: false — the broker is not authenticated: anyone on the way can read and forge its messages`,
      );
  }
  return warnings;
}

/** Why `dir` cannot be used as a writable folder, or undefined. Looks only: creates nothing. */
function writableFolderProblem(dir: string): string | undefined {
  let existing = dir;
  for (;;) {
    const kind = kindOf(existing);
    if (kind === 'missing') {
      const parent = dirname(existing);
      if (parent === existing) return `${dir} cannot be created`;
      existing = parent;
      continue;
    }
    if (kind !== 'folder') return existing === dir ? `${dir} is a file` : `${existing} is a file, not a folder`;
    try {
      accessSync(existing, constants.W_OK | constants.X_OK);
    } catch {
      return existing === dir ? `${dir} is not writable` : `${dir} cannot be created: ${existing} is not writable`;
    }
    return undefined;
  }
}

function kindOf(path: string): 'missing' | 'folder' | 'other' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a file sits somewhere on the way; walking up finds it.
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw error;
  }
}

function isDirectory(path: string): boolean {
  return kindOf(path) === 'folder';
}

/**
 * The configured mapping files — one per feed (`mappings.<feed>`) and one per connector (`connectors[i].mapping`, the
 * mapping of that source's messages) — read, validated and compiled once against the catalogs read so far (a
 * connector's catalogs come later; lookups in them only happen per record). Each problem is one issue naming its key.
 */
function mappingFiles(loaded: LoadedConfig, catalogs: Partial<Catalogs>, issues: ConfigIssue[]): ConfiguredMappings {
  const byFeed: ConfiguredMappings['byFeed'] = {};
  const bySource = new Map<string, LoadedMapping>();
  const check = (key: string, path: string, feed: Feed): LoadedMapping | undefined => {
    try {
      const mapping = loadMappingFile(resolve(loaded.paths.baseDir, path), feed);
      const compiled = compileMapping(mapping, {
        regions: catalogs.regions ?? [],
        devices: catalogs.devices ?? [],
        data_resources: catalogs.data_resources ?? [],
      });
      for (const problem of sampleProblems(loaded, mapping, compiled, catalogs))
        issues.push({ path: key, value: path, expected: `samples that map: ${problem}` });
      return mapping;
    } catch (error) {
      if (!(error instanceof MappingFileError || error instanceof MappingCompileError)) throw error;
      const problems = error instanceof MappingFileError ? error.problems : [error.message];
      for (const problem of problems)
        issues.push({ path: key, value: path, expected: `a valid mapping file: ${problem}` });
      return undefined;
    }
  };
  for (const [feed, path] of Object.entries(loaded.config.mappings) as [MappedFeed, string | undefined][]) {
    const mapping = path === undefined ? undefined : check(`mappings.${feed}`, path, feed);
    if (mapping) byFeed[feed] = mapping;
  }
  for (const [index, connector] of loaded.config.connectors.entries()) {
    for (const source of mappedSourcesOf(connector, `connectors[${index}]`)) {
      const mapping = check(source.key, source.mapping, source.feed);
      if (mapping) bySource.set(source.id, mapping);
    }
  }
  return { byFeed, bySource };
}

/**
 * The sources of a connector that name their own mapping, by the id they stamp as `cityhub-source`: the connector
 * itself, or each of its `sources` (http-ingest serves several, each with its id, feed and mapping).
 */
function mappedSourcesOf(
  connector: LoadedConfig['config']['connectors'][number],
  key: string,
): { id: string; feed: Feed; mapping: string; key: string }[] {
  if ('sources' in connector)
    return connector.sources.flatMap((s, i) =>
      s.mapping === undefined
        ? []
        : [{ id: s.id, feed: s.feed, mapping: s.mapping, key: `${key}.sources[${i}].mapping` }],
    );
  if (!('mapping' in connector) || connector.mapping === undefined) return [];
  return [{ id: connector.id, feed: connector.feed, mapping: connector.mapping, key: `${key}.mapping` }];
}

/**
 * What the mapping makes of the sample payloads it names: one line per dead letter (file, line, reason, path). The
 * samples go through the normalizer as the hub would run it, catalogs and plausibility checks included.
 */
function sampleProblems(
  loaded: LoadedConfig,
  mapping: LoadedMapping,
  compiled: SourceMapping,
  catalogs: Partial<Catalogs>,
): string[] {
  if (mapping.spec.samples.length === 0) return [];
  const { landing, privacy } = loaded.config;
  const normalizer = new Normalizer(mapping.feed, {
    mapping: compiled,
    salt: privacy.hmac_key ?? privacy.salt ?? '',
    keyId: privacy.key_id,
    regionCodes: new Set((catalogs.regions ?? []).map((r) => r.code)),
    dataResources: catalogs.data_resources ?? [],
    maxPayloadBytes: landing.max_payload_bytes,
    minEventMs: Date.parse(`${landing.min_event_time}T00:00:00+08:00`),
    maxFutureSkewMs: landing.max_future_skew_ms,
  });
  const problems: string[] = [];
  for (const sample of mapping.spec.samples) {
    const file = resolve(dirname(mapping.file), sample);
    let payloads: { line: number; bytes: Buffer }[];
    try {
      payloads = samplePayloads(file);
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message}`);
      continue;
    }
    for (const { line, bytes } of payloads) {
      for (const letter of normalizer.normalize(bytes).deadLetters) {
        const issue = letter.issues[0];
        problems.push(`${file}:${line}: ${letter.reason_code}${issue ? ` — ${issue.path}: ${issue.message}` : ''}`);
      }
    }
  }
  return problems;
}

/** NDJSON lines, or a JSON file holding one payload or an array of them. */
function samplePayloads(file: string): { line: number; bytes: Buffer }[] {
  const text = readFileSync(file, 'utf8');
  if (!file.toLowerCase().endsWith('.json')) {
    return text
      .split('\n')
      .map((line, i) => ({ line: i + 1, text: line.trim() }))
      .filter((p) => p.text !== '')
      .map((p) => ({ line: p.line, bytes: Buffer.from(p.text) }));
  }
  const parsed: unknown = JSON.parse(text);
  return (Array.isArray(parsed) ? parsed : [parsed]).map((payload, i) => ({
    line: i + 1,
    bytes: Buffer.from(JSON.stringify(payload)),
  }));
}
