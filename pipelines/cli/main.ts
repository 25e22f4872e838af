/**
 * The `cityhub` command line (bin/cityhub.js). Only types are imported statically from the modules the commands run
 * with: each command loads what it uses when it runs (`await import(…)` in its branch), so `cityhub --help`,
 * `cityhub query`, `cityhub status` or `cityhub config check` do not pay for the hub, its connectors, the S3 client
 * or the demo they do not use. The help texts live in help.ts, apart from every command.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CityhubError, UsageError } from '../errors.js';
import type { Role } from '../hub.js';
import type { BuildMode, DataTestResult, RowFormat } from '../models/index.js';
import { parseDuration } from './duration.js';
import { help, usage } from './help.js';

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
    const { runDemo } = await import('./demo-province.js');
    return runDemo(values.demo, forMs, { out: print, err: lineWriter(io.stderr) });
  }
  const [{ lakeLocation, loadConfig }, { createLogger }, { runHub }] = await Promise.all([
    import('../config/load.js'),
    import('../log.js'),
    import('../hub.js'),
  ]);
  const loaded = loadConfig(values.config);
  const log = createLogger(loaded.config.log.level);
  let signals = 0;
  const stopSignal = new Promise<void>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting without draining');
        // A marts build in its thread is cut short first: exiting while DuckDB works for a thread aborts the process.
        void import('../models/build-thread.js')
          .then(({ stopBuildThreads }) => stopBuildThreads())
          .finally(() => process.exit(130));
        return;
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
  // The marts' query and row formats only: not the models runner (models/index.js) and what it loads. The config's
  // paths are read as written; only a config whose path keys are not usable is loaded whole, to say what is wrong.
  const [{ pathsAsWritten }, { streamQuery }, { createRowWriter }] = await Promise.all([
    import('../config/paths.js'),
    import('../models/query.js'),
    import('../models/format.js'),
  ]);
  const paths = pathsAsWritten(values.config) ?? (await import('../config/load.js')).loadConfig(values.config).paths;
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
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig(values.config);
  if (action === 'run') {
    const [
      { resolveCatalogs },
      { memberSeedsOf },
      { lakeStoreOf },
      { S3LakeStore },
      { DataTestsFailedError, describeLakeSync, describeLockHolder, runModels, syncModelsLake, withBuildLock },
    ] = await Promise.all([
      import('../catalogs/resolve.js'),
      import('../federation/members.js'),
      import('../land/compact-job.js'),
      import('../land/s3-store.js'),
      import('../models/index.js'),
    ]);
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
  if (action === 'test') {
    const { testModels } = await import('../models/run.js');
    return reportTests(await testModels({ martsPath: loaded.paths.martsPath, sqlDir: loaded.paths.sqlDir }), print);
  }
  if (action === 'docs') {
    const { writeModelsDocs } = await import('../models/docs.js');
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
  const [
    { loadConfig },
    { preflight },
    { describeConfig },
    { describeCatalogSource },
    { loadProject },
    { describeIngestPath, ingestPaths },
  ] = await Promise.all([
    import('../config/load.js'),
    import('../config/preflight.js'),
    import('../config/explain.js'),
    import('../catalogs/sources.js'),
    import('../models/project.js'),
    import('../config/ingest-paths.js'),
  ]);
  const loaded = loadConfig(values.config);
  // The same preflight `run` does: a config that passes here does not fail at start.
  const checked = preflight(loaded);
  print(`config ${loaded.file ?? '(built-in demo)'} is valid`);
  print(describeConfig(loaded));
  for (const [name, source] of Object.entries(checked.catalogSources))
    print(`  (catalog) ${name} = ${describeCatalogSource(source)}`);
  for (const path of ingestPaths(loaded, checked)) print(describeIngestPath(path));
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
  const [{ catalogs, datasets }, { jsonSchemaOf }] = await Promise.all([
    import('../../schemas/index.js'),
    import('../../schemas/json-schema.js'),
  ]);
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
  compact: async (args, io) =>
    (await import('./compact.js')).commandCompact(args, lineWriter(io.stdout), lineWriter(io.stderr)),
  bus: async (args, io) => (await import('./bus.js')).commandBus(args, lineWriter(io.stdout)),
  api: async (args, io) => (await import('./api.js')).commandApi(args, lineWriter(io.stdout)),
  pull: async (args, io) => (await import('./pull.js')).commandPull(args, lineWriter(io.stdout)),
  dlq: async (args, io) => (await import('./dlq.js')).commandDlq(args, (text) => io.stdout.write(text)),
  status: async (args, io) => (await import('./status.js')).commandStatus(args, (text) => io.stdout.write(text)),
  catalogs: async (args, io) =>
    (await import('./catalogs.js')).commandCatalogs(args, lineWriter(io.stdout), lineWriter(io.stderr)),
  mappings: async (args, io) =>
    (await import('./mappings.js')).commandMappings(args, lineWriter(io.stdout), lineWriter(io.stderr)),
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
    io.stdout.write(`${await help[name]!()}\n`);
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
