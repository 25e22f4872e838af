/** `cityhub mappings test`: what a mapping makes of sample payloads, record by record (docs/mappings.md). */
import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DeptFilesConnectorConfig } from '../../connectors/dept-files/config.js';
import { DeliveryNaming } from '../../connectors/dept-files/naming.js';
import { fileReadOptions, inspectFile, readRows } from '../../connectors/dept-files/read/index.js';
import { type Feed, feeds } from '../../connectors/types.js';
import { CatalogUnavailableError, readCatalog } from '../catalogs/effective.js';
import type { Catalogs } from '../catalogs/load.js';
import { type CatalogSources, planCatalogSources } from '../catalogs/sources.js';
import type { LoadedConfig } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { UsageError } from '../errors.js';
import { compileMapping } from '../mapping/compile.js';
import { builtinMapping } from '../mapping/index.js';
import { loadMappingFile } from '../mapping/load.js';
import { deptRecordProblem } from '../normalize/mappings/dept.js';
import type { SourceMapping } from '../normalize/mappings/index.js';
import { Normalizer } from '../normalize/normalizer.js';
import { compileFields } from '../normalize/resource-fields.js';

export async function commandMappings(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      source: { type: 'string' },
      input: { type: 'string' },
      mapping: { type: 'string' },
      config: { type: 'string' },
      encoding: { type: 'string' },
      'header-row': { type: 'string' },
      sheet: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'test')
    throw new UsageError('expected `cityhub mappings test --source ID --input FILE`');
  if (!values.source) throw new UsageError('--source ID is required (a connector id, or a feed name)');
  if (!values.input) throw new UsageError('--input FILE is required');

  const loaded = loadConfig(values.config);
  const checked = preflight(loaded);
  const catalogs = catalogsForTest(loaded, checked.catalogs, err);
  const deptFiles = loaded.config.connectors.find((c) => c.id === values.source && c.kind === 'dept-files');
  if (deptFiles?.kind === 'dept-files') return testDeliveryFile(resolve(values.input), deptFiles, catalogs, out);
  const feed = feedOf(values.source, loaded);
  const mappingCatalogs = {
    regions: catalogs.regions,
    devices: catalogs.devices,
    data_resources: catalogs.data_resources,
  };
  // The hub's choice, most specific first: --mapping, the source's own, the feed's, the built-in one.
  const configured =
    checked.mappings.bySource.get(values.source) ?? (feed === 'dept' ? undefined : checked.mappings.byFeed[feed]);
  let mapping: SourceMapping;
  let describe: string;
  if (values.mapping) {
    const file = resolve(values.mapping);
    mapping = compileMapping(loadMappingFile(file, feed), mappingCatalogs);
    describe = file;
  } else if (configured) {
    mapping = compileMapping(configured, mappingCatalogs);
    describe = configured.file;
  } else {
    mapping = builtinMapping(feed);
    describe = `built-in mapping of ${feed}`;
  }
  const { config } = loaded;
  const normalizer = new Normalizer(feed, {
    mapping,
    salt: config.privacy.hmac_key ?? config.privacy.salt ?? '',
    keyId: config.privacy.key_id,
    regionCodes: new Set(catalogs.regions.map((r) => r.code)),
    dataResources: catalogs.data_resources,
    maxPayloadBytes: config.landing.max_payload_bytes,
    minEventMs: Date.parse(`${config.landing.min_event_time}T00:00:00+08:00`),
    maxFutureSkewMs: config.landing.max_future_skew_ms,
    maxDepth: config.landing.max_depth,
    maxStringBytes: config.landing.max_string_bytes,
    maxRecordsPerMessage: config.landing.max_records_per_message,
  });
  out(`mapping: ${describe}`);

  let landed = 0;
  let deadLettered = 0;
  for await (const input of inputRecords(resolve(values.input), values)) {
    if ('problem' in input) {
      err(`${input.where}: cannot read: ${input.problem}`);
      deadLettered++;
      continue;
    }
    const result = normalizer.normalize(input.payload);
    for (const { dataset, row } of result.rows) out(`${input.where}: ${dataset} ${JSON.stringify(row)}`);
    for (const letter of result.deadLetters) {
      const issues = letter.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      const part = letter.line === undefined ? '' : ` (record ${letter.line})`;
      out(`${input.where}${part}: dead letter ${letter.reason_code} — ${issues}`);
    }
    landed += result.landed;
    deadLettered += result.received - result.landed;
  }
  out(`${landed + deadLettered} record(s): ${landed} landed, ${deadLettered} dead-lettered`);
  return deadLettered > 0 ? 1 : 0;
}

type InputRecord = { where: string; payload: Buffer } | { where: string; problem: string };

/** The input file's records as the bytes a connector would put on the bus, each named by its line. */
async function* inputRecords(
  file: string,
  values: { encoding?: string; 'header-row'?: string; sheet?: string },
): AsyncGenerator<InputRecord> {
  const extension = extname(file).toLowerCase();
  const format =
    extension === '.csv'
      ? 'csv'
      : extension === '.xlsx'
        ? 'xlsx'
        : extension === '.ndjson' || extension === '.jsonl'
          ? 'ndjson'
          : extension === '.json'
            ? 'json'
            : undefined;
  if (!format) throw new UsageError(`--input ${file}: expected a .ndjson, .jsonl, .json, .csv or .xlsx file`);
  const headerRow = values['header-row'];
  const options = fileReadOptions.parse({
    format,
    ...(values.encoding ? { encoding: values.encoding } : {}),
    ...(headerRow ? { header_row: headerRow === 'auto' ? 'auto' : Number(headerRow) } : {}),
    ...(values.sheet ? { sheet: values.sheet } : {}),
  });
  const inspection = await inspectFile(file, options);
  if (inspection.problem) {
    // A single JSON payload (not an array) is one record, as the bus would carry it.
    if (format === 'json' && inspection.problem.kind === 'not_an_array') {
      const { readFile } = await import('node:fs/promises');
      yield { where: 'record 1', payload: await readFile(file) };
      return;
    }
    throw new UsageError(`--input ${file}: ${inspection.problem.message}`);
  }
  for await (const row of readRows(file, options)) {
    const where = `line ${row.line}`;
    if (row.problem) yield { where, problem: `${row.problem.kind}: ${row.problem.message}` };
    else yield { where, payload: Buffer.from(JSON.stringify(row.values)) };
  }
}

/**
 * The catalogs the hub would map with; a catalog a connector provides but no hub run has published yet is taken as
 * empty (said on stderr): lookups in it then dead-letter, which the output shows.
 */
function catalogsForTest(loaded: LoadedConfig, fromFiles: Partial<Catalogs>, err: (line: string) => void): Catalogs {
  const sources = planCatalogSources(loaded).sources as CatalogSources;
  const dataDir = resolve(loaded.paths.baseDir, loaded.config.data_dir);
  const read = <N extends keyof Catalogs>(name: N): Catalogs[N] => {
    if (fromFiles[name]) return fromFiles[name];
    try {
      return readCatalog(name, sources[name], dataDir);
    } catch (error) {
      if (!(error instanceof CatalogUnavailableError)) throw error;
      err(`note: no ${name} catalog here (${error.connectorId} provides it when the hub runs); lookups in it fail`);
      return [] as Catalogs[N];
    }
  };
  return {
    regions: read('regions'),
    data_resources: read('data_resources'),
    scenarios: read('scenarios'),
    devices: read('devices'),
  };
}

/** The feed a `--source` names: a feed itself, or the one feed a configured connector sends. */
function feedOf(source: string, loaded: LoadedConfig): Feed {
  if ((feeds as readonly string[]).includes(source)) return source as Feed;
  const connector = loaded.config.connectors.find((c) => c.id === source);
  if (!connector) {
    const ids = loaded.config.connectors.map((c) => c.id).join(', ');
    throw new UsageError(
      `--source ${source} is neither a feed (${feeds.join(', ')}) nor a configured connector (${ids})`,
    );
  }
  if (!('feed' in connector)) {
    throw new UsageError(
      `connector ${source} (${connector.kind}) sends several feeds: give --source one of ${feeds.join(', ')}`,
    );
  }
  return connector.feed;
}

/**
 * A department's file as a dept-files connector would deliver it, without sending anything: which resource and when,
 * then each row valid or dead-lettered against the resource's declared fields (file + line), and the delivery summary.
 */
async function testDeliveryFile(
  file: string,
  config: DeptFilesConnectorConfig,
  catalogs: Catalogs,
  out: (line: string) => void,
): Promise<number> {
  const name = basename(file);
  const naming = new DeliveryNaming(config);
  const resourceCode = naming.resourceOf(name);
  const resource = catalogs.data_resources.find((r) => r.resource_code === resourceCode);
  const delivered = naming.deliveredAt(name, (await stat(file)).mtimeMs);
  out(
    `delivery: ${name} → resource ${resourceCode ?? '(none: the name does not match resource.pattern)'}${resource ? ` (${resource.name}, department ${resource.department_code}, region ${resource.region_code})` : ''}, delivered ${delivered.at} (${delivered.fromName ? 'from the name' : 'file mtime'})`,
  );
  if (config.resource.from !== 'column' && !resource) {
    out(`file problem unknown_resource — ${resourceCode ?? name} is not in the data-resource catalog`);
    return 1;
  }
  const inspection = await inspectFile(file, config.read, name);
  if (inspection.problem) {
    out(`file problem ${inspection.problem.kind} — ${inspection.problem.message}`);
    return 1;
  }
  const fields = resource?.fields ? compileFields(resource.fields) : undefined;
  let rows = 0;
  let valid = 0;
  for await (const row of readRows(file, config.read, name)) {
    rows++;
    const problem = row.problem
      ? { reason_code: row.problem.kind, issues: [{ path: row.problem.column ?? '', message: row.problem.message }] }
      : deptRecordProblem(row.values, `line ${row.line}`, fields, true);
    if (problem) {
      const issues = problem.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      out(`line ${row.line}: dead letter ${problem.reason_code} — ${issues}`);
    } else {
      valid++;
      out(`line ${row.line}: dept_record ${JSON.stringify(row.values)}`);
    }
  }
  out(`${rows} record(s): ${valid} landed, ${rows - valid} dead-lettered`);
  return rows > valid ? 1 : 0;
}
