import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CityhubError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { BuildThread, reviveError, transferError } from './build-thread.js';
import {
  DataTestsFailedError,
  MartsFileError,
  ModelBuildError,
  ModelDefinitionError,
  type ModelsRunOptions,
  runModels,
} from './index.js';
import { alert, delivery, deviceOf, reading, resource, tempDirs, testRegions, writeLake } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
let thread: BuildThread;
beforeEach(async () => {
  dirs = await tempDirs();
  thread = new BuildThread();
});
afterEach(async () => {
  await thread.close();
  await dirs.cleanup();
});

async function setup(): Promise<ModelsRunOptions> {
  const dir = await dirs.make();
  const lakeDir = join(dir, 'lake');
  await writeLake(lakeDir, 'dept_delivery', [
    delivery({ delivery_id: 'd1', delivered_at: '2026-08-05T02:00:00Z', record_count: 10 }),
    delivery({ delivery_id: 'd2', delivered_at: '2026-09-12T02:00:00Z', record_count: 4, valid_count: 3 }),
  ]);
  await writeLake(lakeDir, 'sensor_reading', [
    reading({ observed_at: '2026-08-05T01:00:00Z', value: 1 }),
    reading({ observed_at: '2026-08-06T01:00:00Z', value: 2, device_id: 'dev-2' }),
  ]);
  await writeLake(lakeDir, 'video_alert', [alert({ alert_id: 'a1', occurred_at: '2026-08-07T03:00:00Z' })]);
  return {
    lakeDir,
    martsPath: join(dir, 'data', 'marts.duckdb'),
    sqlDir,
    regionCode: '330000',
    now: new Date('2030-01-01T00:00:00+08:00'),
    catalogs: {
      regions: testRegions,
      data_resources: [resource({ resource_code: 'res-1' })],
      scenarios: [],
      devices: [deviceOf({ device_id: 'dev-1' }), deviceOf({ device_id: 'dev-2' })],
    },
  };
}

/** Every table of a marts file, each as its rows in a fixed order. */
async function contents(martsPath: string): Promise<Record<string, unknown[]>> {
  const instance = await DuckDBInstance.create(martsPath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const tables = (
      await connection.runAndReadAll(
        `select table_name from information_schema.tables where table_schema = 'main' order by table_name`,
      )
    ).getRowsJS();
    const out: Record<string, unknown[]> = {};
    for (const [name] of tables) {
      // The run log holds each build's time and timings: not the marts' contents.
      if (name === 'cityhub_run_log') continue;
      out[String(name)] = (await connection.runAndReadAll(`select * from "${name}" order by all`)).getRowsJS();
    }
    return out;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const brokenModel = {
  'marts/mart_broken.sql':
    '-- name: mart_broken\n-- description: broken\n-- materialization: table\n-- depends_on: seed_regions\n\nselect no_such_column from seed_regions',
};

describe('BuildThread', () => {
  it("builds the same marts as a build in the caller's thread, reporting each model's progress", async () => {
    const o = await setup();
    const here = await runModels(o);
    const threadMarts = join(dirname(o.martsPath), 'thread.duckdb');
    const progress: string[] = [];
    const there = await runModels({ ...o, martsPath: threadMarts, thread, onProgress: (e) => progress.push(e.model) });
    expect(there.martsPath).toBe(threadMarts);
    expect(progress).toEqual(there.models.map((m) => m.name));
    expect(there.models.map((m) => [m.name, m.rows, m.mode])).toEqual(here.models.map((m) => [m.name, m.rows, m.mode]));
    expect(there.tests.map((t) => [t.name, t.passed])).toEqual(here.tests.map((t) => [t.name, t.passed]));
    const built = await contents(threadMarts);
    expect(Object.keys(built).length).toBeGreaterThan(30);
    expect((built.mart_data_sharing ?? []).length).toBeGreaterThan(0);
    expect(built).toEqual(await contents(o.martsPath));
    // A second build goes to the same thread and takes the first over as its previous build.
    const again = await runModels({ ...o, martsPath: threadMarts, thread });
    expect(again.fullBuildReason).toBeUndefined();
    expect(await contents(threadMarts)).toEqual(built);
  });

  it('fails with ModelBuildError naming the model and file, as in the caller thread, and the thread builds on', async () => {
    const o = await setup();
    await runModels({ ...o, thread });
    const before = await readFile(o.martsPath);
    const dir = await dirs.withFiles(brokenModel);
    const err = await runModels({ ...o, sqlDir: dir, thread }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelBuildError);
    expect(err).toBeInstanceOf(CityhubError);
    expect(err).toMatchObject({
      name: 'ModelBuildError',
      model: 'mart_broken',
      file: join(dir, 'marts', 'mart_broken.sql'),
    });
    expect((err as ModelBuildError).message).toContain('no_such_column');
    expect((err as ModelBuildError).cause).toBeInstanceOf(Error);
    expect((await readFile(o.martsPath)).equals(before)).toBe(true);
    expect(await readdir(dirname(o.martsPath))).toEqual(['marts.duckdb']);
    await expect(runModels({ ...o, thread })).resolves.toMatchObject({ martsPath: o.martsPath });
  });

  it('rejects a model reading an undeclared model with ModelDefinitionError from the thread', async () => {
    const o = await setup();
    const dir = await dirs.withFiles({
      'intermediate/int_a.sql': '-- name: int_a\n-- description: a\n-- materialization: table\n\nselect 1 as x',
      'marts/mart_b.sql':
        '-- name: mart_b\n-- description: b\n-- materialization: table\n-- depends_on: int_a\n\nselect * from int_a join seed_regions on true',
    });
    const err = await runModels({ ...o, sqlDir: dir, thread }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelDefinitionError);
    expect(err).toMatchObject({ field: 'depends_on', file: join(dir, 'marts', 'mart_b.sql') });
  });

  it('keeps the previous marts when a test of error severity fails in a thread build', async () => {
    const o = await setup();
    await runModels({ ...o, thread });
    const before = await readFile(o.martsPath);
    const dir = await dirs.withFiles({
      'marts/mart_devices.sql':
        '-- name: mart_devices\n-- description: devices\n-- materialization: table\n-- depends_on: seed_regions\n-- tests: not_null(code)\n\nselect null as code',
    });
    const err = await runModels({ ...o, sqlDir: dir, thread }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataTestsFailedError);
    expect((err as DataTestsFailedError).failures).toEqual([
      { model: 'mart_devices', test: 'not_null(code)', failing_rows: 1 },
    ]);
    expect((await readFile(o.martsPath)).equals(before)).toBe(true);
  });

  it('lets a build in progress end before it stops, and starts a new thread for the next build', async () => {
    const o = await setup();
    let closing: Promise<void> | undefined;
    const built = runModels({
      ...o,
      thread,
      onProgress: () => {
        closing ??= thread.close();
      },
    });
    await expect(built).resolves.toMatchObject({ martsPath: o.martsPath });
    await closing;
    expect(closing).toBeDefined();
    expect(await readdir(dirname(o.martsPath))).toEqual(['marts.duckdb']);
    const progress: string[] = [];
    await runModels({ ...o, thread, onProgress: (e) => progress.push(e.model) });
    expect(progress.length).toBeGreaterThan(30);
  });

  it('cuts a build short on stop(): the build fails, the previous marts stay published', async () => {
    const o = await setup();
    await runModels({ ...o, thread });
    const before = await readFile(o.martsPath);
    let stopping: Promise<void> | undefined;
    const err = await runModels({
      ...o,
      thread,
      onProgress: () => {
        stopping ??= thread.stop();
      },
    }).catch((e: unknown) => e);
    await stopping;
    expect(err).toBeInstanceOf(ModelBuildError);
    expect((err as Error).message).toMatch(/interrupt/i);
    expect((await readFile(o.martsPath)).equals(before)).toBe(true);
    expect(await readdir(dirname(o.martsPath))).toEqual(['marts.duckdb']);
  });

  it('lets a process exit at once (a second Ctrl-C) while a thread builds, once stopBuildThreads returned', async () => {
    const o = await setup();
    // From dist/, as the hub runs: exiting while DuckDB works for a thread would abort the process (exit 134).
    const script = `
      const { runModels } = await import(${JSON.stringify(join(packageRoot(), 'dist/pipelines/models/run.js'))});
      const { BuildThread, stopBuildThreads } = await import(${JSON.stringify(join(packageRoot(), 'dist/pipelines/models/build-thread.js'))});
      const options = JSON.parse(process.argv[2]);
      let exiting = false;
      await runModels({ ...options, now: new Date(options.now), thread: new BuildThread(), onProgress: () => {
        if (exiting) return;
        exiting = true;
        void stopBuildThreads().finally(() => process.exit(130));
      } }).catch(() => {}); // cut short: it fails, as the hub's build does (and logs)`;
    const scriptFile = join(await dirs.make(), 'exit-mid-build.mjs');
    await writeFile(scriptFile, script);
    const child = spawn(process.execPath, [scriptFile, JSON.stringify(o)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).not.toContain('terminate called');
    expect(code).toBe(130);
    expect(await readdir(dirname(o.martsPath))).toEqual([]);
  });
});

describe('transferError / reviveError', () => {
  it('gives back an instance of the same class with its fields, message, stack and cause', () => {
    const original = new MartsFileError('/data/marts.duckdb.building-1', 'checkpoint', new Error('No space left'));
    const revived = reviveError(structuredClone(transferError(original)));
    expect(revived).toBeInstanceOf(MartsFileError);
    expect(revived).toMatchObject({
      name: 'MartsFileError',
      path: '/data/marts.duckdb.building-1',
      step: 'checkpoint',
      retriable: true,
      message: original.message,
      stack: original.stack,
    });
    expect((revived.cause as Error).message).toBe('No space left');
  });

  it('leaves out fields that cannot cross a thread, and makes an unknown class a plain Error of that name', () => {
    class VendorError extends Error {
      readonly handle = () => 1;
      readonly code = 'E42';
    }
    const error = new VendorError('vendor failed');
    error.name = 'VendorError';
    const revived = reviveError(structuredClone(transferError(error)));
    expect(revived).toBeInstanceOf(Error);
    expect(revived).toMatchObject({ name: 'VendorError', message: 'vendor failed', code: 'E42' });
    expect('handle' in revived).toBe(false);
    expect(reviveError(transferError('a string'))).toMatchObject({ name: 'Error', message: 'a string' });
    // A name that is a key of every object is no class of the table.
    const inherited = reviveError({ name: 'constructor', message: 'odd', fields: {} });
    expect(Object.getPrototypeOf(inherited)).toBe(Error.prototype);
    expect(inherited).toMatchObject({ name: 'constructor', message: 'odd' });
  });
});
