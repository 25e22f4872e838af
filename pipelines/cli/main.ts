import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { catalogs, datasets } from '../../schemas/index.js';
import { jsonSchemaOf } from '../../schemas/json-schema.js';
import { bundledRegionsPath, loadCatalogFile } from '../catalogs/load.js';
import { resolveCatalogs } from '../catalogs/resolve.js';
import { describeConfig } from '../config/explain.js';
import { loadConfig } from '../config/load.js';
import { CityhubError, UsageError } from '../errors.js';
import { type Role, runHub } from '../hub.js';
import { createLogger } from '../log.js';
import { formatRows, queryMarts, runModels, testModels } from '../models/index.js';
import { parseDuration } from './duration.js';

const usage = `cityhub — the data hub of a city's 一网统管 platform

Usage: cityhub <command> [options]

Commands:
  run              run the hub (with no --config: the embedded demo city)
  query "SQL"      read the marts (read-only)
  models run|test  build / test the SQL models
  config check     validate and explain a config file
  schemas export   write the JSON Schema of every canonical dataset and catalog

Every command takes --help.`;

const help: Record<string, string> = {
  run: `Usage: cityhub run [--config FILE] [--role all|connectors|pipeline|models|api] [--for DURATION]

Runs the hub. Without --config it runs the embedded demo city (province 330000, seeded simulator).
  --config FILE   YAML or JSON config (see docs/config.md)
  --role ROLE     which roles to run in this process (default all)
  --for DURATION  run that long (e.g. 60s, 5m), then stop sources, drain the bus into the lake, build the
                  marts, print a per-feed summary and exit 0. Without it, runs until SIGINT/SIGTERM and does the same.`,
  query: `Usage: cityhub query "SQL" [--format table|csv|json] [--config FILE] [--marts FILE]

Runs a read-only SQL query against the marts (default <data_dir>/marts.duckdb).`,
  models: `Usage: cityhub models run|test [--config FILE]

  run   build every model in sql/ into a new marts file, swap it in atomically, run the data tests
  test  run the data tests against the current marts file`,
  config: `Usage: cityhub config check [--config FILE]

Validates the config (without FILE: the built-in demo config) and explains every key with its effective value.
Exits 1 and names each bad key when it is invalid.`,
  schemas: `Usage: cityhub schemas export [--out DIR]

Writes <name>.schema.json for every canonical dataset and reference catalog (default DIR: ./schemas-json).`,
};

function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function commandRun(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, role: { type: 'string', default: 'all' }, for: { type: 'string' } },
    strict: true,
  });
  const roles = ['all', 'connectors', 'pipeline', 'models', 'api'];
  if (!roles.includes(values.role!))
    throw new UsageError(`--role must be one of ${roles.join(', ')} (got ${values.role})`);
  const forMs = values.for === undefined ? undefined : parseDuration(values.for);
  const loaded = loadConfig(values.config);
  const log = createLogger(loaded.config.log.level);
  let signals = 0;
  const stopSignal = new Promise<void>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting without draining');
        process.exit(130);
      }
      log.info({ signal }, 'stopping gracefully (send again to force)');
      resolveStop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  print(`cityhub ${loaded.file ? `config ${loaded.file}` : 'demo city (no --config)'}; lake ${loaded.paths.lakeDir}`);
  await runHub(loaded, { role: values.role as Role, forMs, log, out: print, stopSignal });
  return 0;
}

async function commandQuery(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { format: { type: 'string', default: 'table' }, config: { type: 'string' }, marts: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('expected exactly one SQL string: cityhub query "select …"');
  const format = values.format as 'table' | 'csv' | 'json';
  if (!['table', 'csv', 'json'].includes(format))
    throw new UsageError(`--format must be table, csv or json (got ${format})`);
  const martsPath = values.marts ? resolve(values.marts) : loadConfig(values.config).paths.martsPath;
  const result = await queryMarts({ martsPath, sql: positionals[0]! });
  process.stdout.write(formatRows(result, format));
  if (!formatRows(result, format).endsWith('\n')) process.stdout.write('\n');
  return 0;
}

async function commandModels(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { config: { type: 'string' } }, allowPositionals: true });
  const action = positionals[0];
  const loaded = loadConfig(values.config);
  if (action === 'run') {
    const catalogs = resolveCatalogs(loaded);
    const result = await runModels({
      lakeDir: loaded.paths.lakeDir,
      martsPath: loaded.paths.martsPath,
      sqlDir: loaded.paths.sqlDir,
      regionCode: loaded.config.region_code,
      catalogs,
      onProgress: (event) =>
        print(
          `  ${event.model.padEnd(40)} ${String(event.ms).padStart(6)} ms${event.rows === undefined ? '' : `  ${event.rows} rows`}`,
        ),
    });
    return reportTests(result.tests);
  }
  if (action === 'test')
    return reportTests(await testModels({ martsPath: loaded.paths.martsPath, sqlDir: loaded.paths.sqlDir }));
  throw new UsageError('expected `cityhub models run` or `cityhub models test`');
}

function reportTests(tests: { name: string; model: string; passed: boolean; failing_rows?: number }[]): number {
  const failed = tests.filter((t) => !t.passed);
  for (const t of failed)
    print(`  FAIL ${t.model}: ${t.name}${t.failing_rows === undefined ? '' : ` (${t.failing_rows} rows)`}`);
  print(`data tests: ${tests.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

async function commandConfig(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { config: { type: 'string' } }, allowPositionals: true });
  if (positionals[0] !== 'check') throw new UsageError('expected `cityhub config check [--config FILE]`');
  const loaded = loadConfig(values.config);
  // Catalog files are part of the config: check they load too.
  const at = (p: string) => resolve(loaded.paths.baseDir, p);
  loadCatalogFile(
    'regions',
    loaded.config.catalogs.regions ? at(loaded.config.catalogs.regions) : bundledRegionsPath(),
  );
  for (const name of ['data_resources', 'scenarios', 'devices'] as const) {
    const path = loaded.config.catalogs[name];
    if (path) loadCatalogFile(name, at(path));
  }
  print(`config ${loaded.file ?? '(built-in demo)'} is valid`);
  print(describeConfig(loaded));
  return 0;
}

async function commandSchemas(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string', default: 'schemas-json' } },
    allowPositionals: true,
  });
  if (positionals[0] !== 'export') throw new UsageError('expected `cityhub schemas export [--out DIR]`');
  const out = resolve(values.out!);
  await mkdir(out, { recursive: true });
  const all = { ...datasets, ...catalogs };
  for (const [name, schema] of Object.entries(all)) {
    const json = jsonSchemaOf(schema);
    await writeFile(join(out, `${name}.schema.json`), `${JSON.stringify(json, null, 2)}\n`);
    print(`wrote ${join(out, `${name}.schema.json`)}`);
  }
  return 0;
}

const commands: Record<string, (args: string[]) => Promise<number>> = {
  run: commandRun,
  query: commandQuery,
  models: commandModels,
  config: commandConfig,
  schemas: commandSchemas,
};

/** Runs a CLI command; returns the exit code. Errors are printed as one clear message, not a stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    print(usage);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`cityhub: unknown command "${name}"\n\n${usage}\n`);
    return 2;
  }
  if (wantsHelp(args)) {
    print(help[name]!);
    return 0;
  }
  try {
    return await command(args);
  } catch (error) {
    if (
      error instanceof CityhubError ||
      (error instanceof Error &&
        'code' in error &&
        String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`cityhub ${name}: ${error.message}\n`);
      return error instanceof UsageError || !(error instanceof CityhubError) ? 2 : 1;
    }
    throw error;
  }
}
