import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { catalogs, datasets } from '../../schemas/index.js';
import { jsonSchemaOf } from '../../schemas/json-schema.js';
import { resolveCatalogs } from '../catalogs/resolve.js';
import { describeCatalogSource } from '../catalogs/sources.js';
import { describeConfig } from '../config/explain.js';
import { lakeLocation, loadConfig } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { CityhubError, UsageError } from '../errors.js';
import { memberSeedsOf } from '../federation/members.js';
import { type Role, runHub } from '../hub.js';
import { lakeStoreOf } from '../land/compact-job.js';
import { S3LakeStore } from '../land/s3-store.js';
import { createLogger } from '../log.js';
import {
  type BuildMode,
  createRowWriter,
  type DataTestResult,
  DataTestsFailedError,
  describeLakeSync,
  describeLockHolder,
  loadProject,
  type RowFormat,
  runModels,
  streamQuery,
  syncModelsLake,
  testModels,
  withBuildLock,
  writeModelsDocs,
} from '../models/index.js';
import { apiHelp, commandApi } from './api.js';
import { busHelp, commandBus } from './bus.js';
import { catalogsHelp, commandCatalogs } from './catalogs.js';
import { commandCompact, compactHelp } from './compact.js';
import { runDemo } from './demo-province.js';
import { commandDlq, dlqHelp } from './dlq.js';
import { parseDuration } from './duration.js';
import { commandMappings, mappingsHelp } from './mappings.js';
import { commandPull, pullHelp } from './pull.js';
import { commandStatus, statusHelp } from './status.js';

const usage = `cityhub — the data hub of a city's 一网统管 platform

Usage: cityhub <command> [options]

Commands:
  run                run the hub (with no --config: the embedded demo city)
  status             is the hub running, and how: connectors, feeds, lag, marts, dead letters (docs/operations.md)
  query "SQL"        read the marts and the lake's Parquet files (read-only, streamed)
  models run|test    build / test the SQL models
  config check       validate and explain a config file (everything run would reject)
  schemas export     write the JSON Schema of every canonical dataset and catalog
  compact            merge each past lake day's small files into one; apply lake.retention (docs/lake.md)
  bus verify|repair  check the embedded bus for damage / move damage aside (docs/bus.md)
  catalogs check     load every configured catalog and show what it holds and what is wrong (docs/catalogs.md)
  mappings test      show what a source mapping makes of sample payloads, record by record (docs/mappings.md)
  api token          make a bearer token for an upper tier and the config entry granting it (docs/api.md)
  pull               pull the member hubs' aggregates now (a province or national hub; docs/api.md)
  dlq ls|show|replay the lake's dead letters by feed, reason and time; one message in full; replay after a fix

Every command takes --help.`;

const help: Record<string, string> = {
  run: `Usage: cityhub run [--config FILE] [--role all|connectors|pipeline|models|api] [--for DURATION]
       cityhub run --demo province [--for DURATION]

Runs the hub. Without --config it runs the embedded demo city (province 330000, seeded simulator).
  --config FILE   YAML or JSON config (see docs/config.md)
  --role ROLE     which roles to run in this process (default all). With bus.type kafka each role can run
                  in its own process (several pipeline processes share the partitions; each process running
                  connectors or the pipeline needs a data_dir of its own); with the embedded bus, run them all
                  in one process. The api role serves the marts to upper tiers over HTTP (api.listen; role all
                  runs it too when api.tokens is not empty; see docs/api.md).
  --for DURATION  run that long (e.g. 60s, 5m), then stop sources, drain the bus into the lake, build the
                  marts, print a per-feed summary and exit 0. Without it, runs until SIGINT/SIGTERM and does the same.
  --demo province the provincial demo (not with --config or --role): three city hubs (杭州, 宁波, 温州) and a
                  province hub pulling them over the tier API, each its own process on free loopback ports, their
                  configs written to ./data/demo-province with fresh tokens. Prints each hub's output under its
                  name, the province's roll-up whenever it changes and curl commands to pull it. SIGINT/SIGTERM
                  (or --for) stops every hub; exits 0 when each ended cleanly, 1 when one did not or died.`,
  query: `Usage: cityhub query "SQL" [--param NAME=VALUE]… [--format table|csv|json] [--config FILE] [--marts FILE]

Runs a read-only SQL query against the marts (default <data_dir>/marts.duckdb) and streams the result out.
The query may also read the lake's Parquet files (read-only), e.g.
  cityhub query "select count(*) from read_parquet('<lake_dir>/sensor_reading/**/*.parquet')"
Writes (COPY … TO, ATTACH, INSTALL, CREATE, …) and files outside the lake are refused.
With lake.type s3, <lake_dir> is the local mirror of the bucket as the last models build synced it (the copy the
marts were built from; docs/lake.md "S3"): \`cityhub models run\` brings it up to date.
  --param NAME=VALUE  the value of the query's parameter $NAME (repeatable), bound, never spliced into the SQL:
                  cityhub query "select * from mart_hotline where region_code = $region" --param region=330106
  --format table  aligned for a terminal; shows the first 10,000 rows and counts the rest
  --format csv    RFC 4180 with a header row
  --format json   an array of row objects`,
  models: `Usage: cityhub models run [--select MODEL[+]]… [--full-refresh] [--config FILE]
       cityhub models test [--config FILE]
       cityhub models docs [--out FILE] [--config FILE]

  run   (with lake.type s3: first sync the local mirror of the bucket the models read, docs/lake.md "S3")
        build every model in sql/ into a new marts file and run the data tests; swap it in atomically unless a
        test of error severity failed (then the previous marts stay published, each failure is printed, exit 1);
        failed tests of warn severity are printed as WARN and do not stop the swap. Incremental models recompute
        only the lake days whose files changed since the previous build (plus models.lookback_days) and take the
        other days over from the previous marts file; each model's line says how it was built
    --select MODEL    rebuild only MODEL (repeatable); MODEL+ also everything downstream of it; the other tables
                      are copied from the previous marts file
    --full-refresh    ignore the previous marts file: every model from the whole lake
  test  run the data tests against the current marts file (exit 1 when a test of error severity fails)
  docs  write one HTML page documenting every model (description, grain, columns from the marts file, tests,
        lineage) and every indicator (definition, formula, where it lives); default models.html beside the marts
        file (<data_dir>/models.html by default)`,
  config: `Usage: cityhub config check [--config FILE]

Validates the config (without FILE: the built-in demo config) and explains every key with its effective value.
Exits 1 and names each bad key when it is invalid.`,
  compact: compactHelp,
  bus: busHelp,
  api: apiHelp,
  pull: pullHelp,
  dlq: dlqHelp,
  status: statusHelp,
  catalogs: catalogsHelp,
  mappings: mappingsHelp,
  schemas: `Usage: cityhub schemas export [--out DIR]

Writes <name>.schema.json for every canonical dataset and reference catalog (default DIR: ./schemas-json).`,
};

function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/**
 * Where a command writes. `bin/cityhub.js` passes nothing (the process's own streams); tests pass their own, so
 * commands that need no process of their own (help, usage errors, config check) run without spawning one.
 */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Writes one line per call to `stream`. */
function lineWriter(stream: NodeJS.WritableStream): (line: string) => void {
  return (line) => {
    stream.write(`${line}\n`);
  };
}

async function commandRun(args: string[], io: CliIo): Promise<number> {
  const print = lineWriter(io.stdout);
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      role: { type: 'string' },
      for: { type: 'string' },
      demo: { type: 'string' },
    },
    strict: true,
  });
  const role = values.role ?? 'all';
  const roles = ['all', 'connectors', 'pipeline', 'models', 'api'];
  if (!roles.includes(role)) throw new UsageError(`--role must be one of ${roles.join(', ')} (got ${role})`);
  const forMs = values.for === undefined ? undefined : parseDuration(values.for);
  if (values.demo !== undefined) {
    // A demo writes and runs its own hubs' configs, each hub with all its roles.
    if (values.config !== undefined || values.role !== undefined)
      throw new UsageError(`--demo ${values.demo} runs hubs of its own: it takes neither --config nor --role`);
    return runDemo(values.demo, forMs, { out: print, err: lineWriter(io.stderr) });
  }
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
  print(`cityhub ${loaded.file ? `config ${loaded.file}` : 'demo city (no --config)'}; lake ${lakeLocation(loaded)}`);
  const summary = await runHub(loaded, { role: role as Role, forMs, log, out: print, stopSignal });
  // Each problem was printed with the summary; a run that did not end cleanly must not look like one that did.
  return summary.problems.length > 0 ? 1 : 0;
}

async function commandQuery(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      format: { type: 'string', default: 'table' },
      config: { type: 'string' },
      marts: { type: 'string' },
      param: { type: 'string', multiple: true },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('expected exactly one SQL string: cityhub query "select …"');
  const params: Record<string, string> = {};
  for (const given of values.param ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*|\d+)=(.*)$/s.exec(given);
    if (!m) throw new UsageError(`--param expects NAME=VALUE (got ${JSON.stringify(given)})`);
    if (Object.hasOwn(params, m[1]!)) throw new UsageError(`--param ${m[1]} is given twice`);
    params[m[1]!] = m[2]!;
  }
  const format = values.format as RowFormat;
  if (!['table', 'csv', 'json'].includes(format))
    throw new UsageError(`--format must be table, csv or json (got ${format})`);
  const { paths } = loadConfig(values.config);
  const martsPath = values.marts ? resolve(values.marts) : paths.martsPath;
  // Each chunk is written before the next is fetched, waiting for stdout to drain: memory stays flat however
  // large the result.
  const write = (text: string): Promise<void> | undefined =>
    text === '' || io.stdout.write(text)
      ? undefined
      : new Promise((resolveDrain) => io.stdout.once('drain', resolveDrain));
  const writer = createRowWriter(format);
  await streamQuery(
    { martsPath, sql: positionals[0]!, lakeDir: paths.lakeDir, params },
    { columns: (names) => write(writer.begin(names)), rows: (rows) => write(writer.rows(rows)) },
  );
  await write(writer.end());
  return 0;
}

/** How long `cityhub models run` waits for a build another process is running. */
const MODELS_LOCK_WAIT_MS = 10 * 60_000;

async function commandModels(args: string[], io: CliIo): Promise<number> {
  const print = lineWriter(io.stdout);
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      select: { type: 'string', multiple: true },
      'full-refresh': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
    allowPositionals: true,
  });
  const action = positionals[0];
  if (action !== 'run' && (values.select !== undefined || values['full-refresh']))
    throw new UsageError('--select and --full-refresh go with `cityhub models run`');
  if (action !== 'docs' && values.out !== undefined) throw new UsageError('--out goes with `cityhub models docs`');
  const loaded = loadConfig(values.config);
  if (action === 'run') {
    const catalogs = resolveCatalogs(loaded);
    // The lake's store: the build finishes or undoes an interrupted compaction through it (an S3 lake's is in the bucket).
    const lakeStore = lakeStoreOf(loaded);
    const federation = memberSeedsOf(loaded);
    // A models process building on schedule holds the marts' build lock: wait for its build to end, then build.
    const log = {
      info: (_: object, message: string) => print(message),
      warn: (_: object, message: string) => print(message),
    };
    try {
      const outcome = await withBuildLock(
        loaded.paths.martsPath,
        { waitMs: MODELS_LOCK_WAIT_MS, log },
        async (signal) => {
          const synced = await syncModelsLake(loaded, {
            ...(lakeStore instanceof S3LakeStore ? { store: lakeStore } : {}),
            onProgress: (progress, done) => {
              if (!done) print(`  ${describeLakeSync(progress)} so far`);
            },
          });
          if (synced) print(describeLakeSync(synced));
          return runModels({
            lakeDir: loaded.paths.lakeDir,
            lakeStore,
            martsPath: loaded.paths.martsPath,
            sqlDir: loaded.paths.sqlDir,
            regionCode: loaded.config.region_code,
            catalogs,
            indicators: loaded.config.models.indicators,
            lookbackDays: loaded.config.models.lookback_days,
            ...(loaded.config.models.memory_limit === undefined
              ? {}
              : { memoryLimit: loaded.config.models.memory_limit }),
            ...(federation === undefined ? {} : { federation }),
            fullRefresh: values['full-refresh'],
            ...(values.select === undefined ? {} : { select: values.select }),
            signal,
            onProgress: (event) =>
              print(
                `  ${event.model.padEnd(40)} ${String(event.ms).padStart(6)} ms  ${describeBuildMode(event)}${event.rows === undefined ? '' : `  ${event.rows} rows`}`,
              ),
          }).then((result) => {
            if (result.fullBuildReason !== undefined) print(`full build: ${result.fullBuildReason}`);
            return result;
          });
        },
      );
      if (!outcome.built) {
        io.stderr.write(
          `cityhub models: another models process is still building after ${MODELS_LOCK_WAIT_MS / 60_000} minutes: ${describeLockHolder(outcome.holder)}\n`,
        );
        return 1;
      }
      return reportTests(outcome.value.tests, print);
    } catch (error) {
      if (!(error instanceof DataTestsFailedError)) throw error;
      reportTests(error.tests, print);
      io.stderr.write(`cityhub models: ${error.message}\n`);
      return 1;
    } finally {
      if (lakeStore instanceof S3LakeStore) lakeStore.client.destroy();
    }
  }
  if (action === 'test')
    return reportTests(await testModels({ martsPath: loaded.paths.martsPath, sqlDir: loaded.paths.sqlDir }), print);
  if (action === 'docs') {
    const outPath = values.out ? resolve(values.out) : join(dirname(loaded.paths.martsPath), 'models.html');
    const written = await writeModelsDocs({ sqlDir: loaded.paths.sqlDir, martsPath: loaded.paths.martsPath, outPath });
    print(`${outPath}: ${written.models} models (${written.withColumns} with columns from the marts file)`);
    return 0;
  }
  throw new UsageError('expected `cityhub models run`, `cityhub models test` or `cityhub models docs`');
}

function describeBuildMode(event: { mode: BuildMode; days?: number; periods?: number }): string {
  if (event.mode === 'incremental' && event.periods !== undefined) {
    return `incremental (${event.periods} period${event.periods === 1 ? '' : 's'})`;
  }
  if (event.mode === 'incremental') return `incremental (${event.days} lake day${event.days === 1 ? '' : 's'})`;
  return event.mode;
}

/** Prints each failed test (FAIL for error severity, WARN for warn) and a summary; 1 when an error-severity test failed. */
function reportTests(tests: readonly DataTestResult[], print: (line: string) => void): number {
  const failed = tests.filter((t) => !t.passed);
  for (const t of failed) {
    const what = t.error === undefined ? `${t.failing_rows} failing rows` : `could not run: ${t.error}`;
    print(`  ${t.severity === 'warn' ? 'WARN' : 'FAIL'} ${t.model}: ${t.name} (${what})`);
  }
  const errors = failed.filter((t) => t.severity === 'error').length;
  print(`data tests: ${tests.length - failed.length} passed, ${errors} failed, ${failed.length - errors} warnings`);
  return errors === 0 ? 0 : 1;
}

async function commandConfig(args: string[], io: CliIo): Promise<number> {
  const print = lineWriter(io.stdout);
  const { values, positionals } = parseArgs({ args, options: { config: { type: 'string' } }, allowPositionals: true });
  if (positionals[0] !== 'check') throw new UsageError('expected `cityhub config check [--config FILE]`');
  const loaded = loadConfig(values.config);
  // The same preflight `run` does: a config that passes here does not fail at start.
  const checked = preflight(loaded);
  print(`config ${loaded.file ?? '(built-in demo)'} is valid`);
  print(describeConfig(loaded));
  for (const [name, source] of Object.entries(checked.catalogSources))
    print(`  (catalog) ${name} = ${describeCatalogSource(source)}`);
  // The models folder too (headers, macros, dependencies): a broken model file fails here, not at the first build.
  const project = await loadProject(loaded.paths.sqlDir);
  print(`  (models) ${project.models.length} models in ${loaded.paths.sqlDir}`);
  for (const warning of checked.warnings) io.stderr.write(`warning: ${warning}\n`);
  return 0;
}

async function commandSchemas(args: string[], io: CliIo): Promise<number> {
  const print = lineWriter(io.stdout);
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

const commands: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  run: commandRun,
  query: commandQuery,
  models: commandModels,
  config: commandConfig,
  schemas: commandSchemas,
  compact: (args, io) => commandCompact(args, lineWriter(io.stdout), lineWriter(io.stderr)),
  bus: (args, io) => commandBus(args, lineWriter(io.stdout)),
  api: (args, io) => commandApi(args, lineWriter(io.stdout)),
  pull: (args, io) => commandPull(args, lineWriter(io.stdout)),
  dlq: (args, io) => commandDlq(args, (text) => io.stdout.write(text)),
  status: (args, io) => commandStatus(args, (text) => io.stdout.write(text)),
  catalogs: (args, io) => commandCatalogs(args, lineWriter(io.stdout), lineWriter(io.stderr)),
  mappings: (args, io) => commandMappings(args, lineWriter(io.stdout), lineWriter(io.stderr)),
};

/** Runs a CLI command; returns the exit code. Errors are printed as one clear message, not a stack. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...args] = argv;
  if (!name) {
    // No command is a usage error (exit 2, as the README says): the usage goes where errors go.
    io.stderr.write(`${usage}\n`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  // An own property only: `cityhub constructor` is an unknown command, not Object's constructor.
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.stderr.write(`cityhub: unknown command "${name}"\n\n${usage}\n`);
    return 2;
  }
  if (wantsHelp(args)) {
    io.stdout.write(`${help[name]!}\n`);
    return 0;
  }
  try {
    return await command(args, io);
  } catch (error) {
    if (
      error instanceof CityhubError ||
      (error instanceof Error &&
        'code' in error &&
        String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr.write(`cityhub ${name}: ${error.message}\n`);
      return error instanceof UsageError || !(error instanceof CityhubError) ? 2 : 1;
    }
    throw error;
  }
}
