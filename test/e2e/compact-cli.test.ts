/**
 * `cityhub compact` as an operator runs it: on a local lake of many small files per day it prints each day it
 * compacts and a summary, leaves today alone, applies `lake.retention`, says what it would do with --dry-run, and
 * exits 1 naming the day when a day cannot be compacted. `config check` names a bad retention or compaction key.
 * In-process through the `main` bin/cityhub.js calls (no process of its own is needed), and once as a child process
 * for the bin's own exit code and streams.
 */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { daysBefore } from '../../pipelines/land/compact-plan.js';
import { dayFiles, parquetFiles, rowsOf, writeLandedFile } from '../../pipelines/land/compact-testing.js';
import { reading, writeLake } from '../../pipelines/models/testing.js';
import { shanghaiDate } from '../../pipelines/normalize/time.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli, startCli, tempDir, writeConfig } from '../support/hub-process.js';

let db: DuckDBConnection;
let instance: DuckDBInstance;
let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
});
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const today = shanghaiDate(Date.now());
const ago = (days: number) => daysBefore(today, days);

function hubConfig(lake: Record<string, unknown>): Record<string, unknown> {
  return {
    region_code: '330000',
    data_dir: 'data',
    privacy: { salt: 'compact-cli-test-salt' },
    connectors: [{ id: 'demo', kind: 'demo', live: false, months: 1, scale: 0.2 }],
    lake: { type: 'local', path: 'lake', ...lake },
  };
}

/** `count` landed sensor files (and two dead-letter files) in each of `days`. */
async function landDays(lake: string, days: readonly string[], count: number): Promise<void> {
  for (const dt of days) {
    for (let n = 0; n < count; n++)
      await writeLandedFile(db, lake, {
        folder: 'sensor_reading',
        dt,
        topic: 'raw.sensor',
        partition: n % 2,
        first: n * 50,
        last: n * 50 + 49,
      });
    for (let n = 0; n < 2; n++)
      await writeLandedFile(db, lake, {
        folder: '_dlq/sensor',
        dt,
        topic: 'raw.sensor',
        partition: n,
        first: 0,
        last: 4,
      });
  }
}

describe('cityhub compact', () => {
  it('--help explains the command, its options and where it is documented', async () => {
    const { code, stdout } = await runCliInProcess(['compact', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^Usage: cityhub compact \[--config FILE\] \[--dataset D\]… \[--day YYYY-MM-DD\]… \[--dry-run\]/,
    );
    expect(stdout).toContain('lake.compaction.min_files');
    expect(stdout).toContain('lake.retention');
    const usage = await runCliInProcess(['--help']);
    expect(usage.stdout).toMatch(/^ {2}compact {12}merge each past lake day/m);
  });

  it('compacts each past day, keeps today, applies retention, and prints what it did', async () => {
    dir = await tempDir('compact-cli');
    const lake = join(dir.path, 'lake');
    await landDays(lake, [today, ago(1), ago(2), ago(6)], 9);
    const before = await rowsOf(db, await parquetFiles(lake, 'sensor_reading'));
    const config = await writeConfig(dir.path, hubConfig({ retention: { sensor_reading: '5d', _dlq: 30 } }));

    const dry = await runCliInProcess(['compact', '--config', config, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`sensor_reading/dt=${ago(1)}: would compact 9 files`);
    expect(dry.stdout).toContain(`sensor_reading/dt=${ago(6)}: would remove by retention 9 files`);
    expect(dry.stdout).toMatch(/dry run: would compact 2 day\(s\) \(18 files\) and remove 1 day\(s\) by retention/);
    expect(await dayFiles(lake, 'sensor_reading', ago(6))).toHaveLength(9);

    const run = await runCliInProcess(['compact', '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `sensor_reading/dt=${ago(1)}: 9 files \\([\\d.]+ MiB\\) → compacted~[0-9a-f]{16}\\.parquet \\([\\d.]+ MiB, 450 rows, 9 original files\\)`,
      ),
    );
    expect(run.stdout).toContain(`sensor_reading/dt=${ago(6)}: removed by retention (9 files)`);
    expect(run.stdout).toMatch(
      /compacted 2 day\(s\): 18 files → 2 \(.* MiB → .* MiB\); retention removed 1 day\(s\) \(9 files\)/,
    );
    // Dead letters: two files a day, fewer than min_files, and 30 days of retention: untouched.
    expect(await dayFiles(lake, '_dlq/sensor', ago(6))).toHaveLength(2);
    expect(await dayFiles(lake, 'sensor_reading', today)).toHaveLength(9);
    for (const day of [ago(1), ago(2)])
      expect(await dayFiles(lake, 'sensor_reading', day)).toEqual([expect.stringMatching(/^compacted~/)]);
    expect(await dayFiles(lake, 'sensor_reading', ago(6))).toEqual([]);
    // Every row kept but those of the expired day (observed that day, UTC midnight + seconds).
    expect(await rowsOf(db, await parquetFiles(lake, 'sensor_reading'))).toEqual(
      before.filter((row) => !row.includes(`"observed_at":"${ago(6)} `)),
    );
    expect(before.filter((row) => row.includes(`"observed_at":"${ago(6)} `))).toHaveLength(450);

    const again = await runCliInProcess(['compact', '--config', config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/compacted 0 day\(s\): 0 files → 0 .*retention removed 0 day\(s\)/);
  });

  it('--dataset and --day select; a named day is compacted whatever its file count, today included', async () => {
    dir = await tempDir('compact-cli');
    const lake = join(dir.path, 'lake');
    await landDays(lake, [today, ago(1)], 3);
    const config = await writeConfig(dir.path, hubConfig({}));
    const run = await runCliInProcess(['compact', '--config', config, '--dataset', '_dlq', '--day', today]);
    expect(run.code, run.stderr).toBe(0);
    expect(await dayFiles(lake, '_dlq/sensor', today)).toEqual([expect.stringMatching(/^compacted~/)]);
    expect(await dayFiles(lake, '_dlq/sensor', ago(1))).toHaveLength(2);
    expect(await dayFiles(lake, 'sensor_reading', today)).toHaveLength(3);

    const bad = await runCliInProcess(['compact', '--config', config, '--day', '2026-02-30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--day expects a date YYYY-MM-DD (got "2026-02-30")');
    const unknown = await runCliInProcess(['compact', '--config', config, '--dataset', 'sensor_readings']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--dataset must be one of sensor_reading, .*_dlq\/sensor.* \(got sensor_readings\)/);
  });

  it('exits 1 naming the day when a compacted file has lost its manifest (its original files would be lost)', async () => {
    dir = await tempDir('compact-cli');
    const lake = join(dir.path, 'lake');
    await landDays(lake, [ago(3)], 8);
    const folder = join(lake, 'sensor_reading', `dt=${ago(3)}`);
    const [first] = await dayFiles(lake, 'sensor_reading', ago(3));
    await rename(join(folder, first!), join(folder, 'compacted~0123456789abcdef.parquet'));
    const config = await writeConfig(dir.path, hubConfig({}));
    const { code, stderr } = await runCliInProcess(['compact', '--config', config]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cityhub compact: compacting sensor_reading/dt=${ago(3)} failed (read)`);
    expect(stderr).toContain('has no manifest');
    expect(await dayFiles(lake, 'sensor_reading', ago(3))).toHaveLength(8);
  });

  it('runs from the bin as a child process: exit 0 and the summary on stdout', async () => {
    dir = await tempDir('compact-cli');
    await landDays(join(dir.path, 'lake'), [ago(1)], 8);
    const config = await writeConfig(dir.path, hubConfig({}));
    const { code, stdout, stderr } = await runCli(['compact', '--config', config], { timeoutMs: 60_000 });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/compacted 1 day\(s\): 8 files → 1/);
  });
});

describe('cityhub config check on lake.retention and lake.compaction', () => {
  const cases: { name: string; lake: Record<string, unknown>; line: RegExp }[] = [
    {
      name: 'a retention for a dataset the lake does not have',
      lake: { retention: { sensor_readings: '400d' } },
      line: /^ {2}- lake\.retention\.sensor_readings: a dataset folder of the lake \(sensor_reading, .*_dlq = the dead letters of every feed\) \(got "400d"\)$/,
    },
    {
      name: 'a retention that is no number of days',
      lake: { retention: { hotline_case: '13 months' } },
      line: /^ {2}- lake\.retention\.hotline_case: a number of days: 400 or 400d \(got "13 months"\)$/,
    },
    {
      name: 'a compaction schedule node-cron rejects',
      lake: { compaction: { schedule: '17 27 * * *' } },
      line: /^ {2}- lake\.compaction\.schedule: a cron expression node-cron accepts .*27 is a invalid expression for hour \(got "17 27 \* \* \*"\)$/,
    },
    {
      name: 'min_files below 2',
      lake: { compaction: { min_files: 1 } },
      line: /^ {2}- lake\.compaction\.min_files: .*>=2 \(got 1\)$/,
    },
  ];
  for (const { name, lake, line } of cases)
    it(`rejects ${name}, naming the key`, async () => {
      dir = await tempDir('compact-config');
      await mkdir(join(dir.path, 'lake'));
      const config = await writeConfig(dir.path, hubConfig(lake));
      const { code, stderr } = await runCliInProcess(['config', 'check', '--config', config]);
      expect(code).toBe(1);
      expect(stderr.split('\n').filter((l) => l.startsWith('  - '))).toEqual([expect.stringMatching(line)]);
    });

  it('accepts retention in days or with a d suffix, and a nightly schedule, and explains them', async () => {
    dir = await tempDir('compact-config');
    const config = await writeConfig(
      dir.path,
      hubConfig({ retention: { sensor_reading: 400, _dlq: '90d' }, compaction: { schedule: '17 3 * * *' } }),
    );
    const { code, stdout, stderr } = await runCliInProcess(['config', 'check', '--config', config]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('lake.retention.sensor_reading = 400');
    expect(stdout).toContain('lake.retention._dlq = 90');
    expect(stdout).toMatch(/lake\.compaction\.schedule = "17 3 \* \* \*" {3}# cron expression/);
    expect(stdout).toMatch(/lake\.compaction\.min_files = 8 {3}# a day folder/);
  });
});

describe('the hub on lake.compaction.schedule', () => {
  it('compacts in the process running the models role, logs what it did, and still builds the marts at the end', async () => {
    dir = await tempDir('compact-hub');
    const lake = join(dir.path, 'lake');
    // Nine flushes' worth of sensor readings of one past day: nine files.
    for (let chunk = 0; chunk < 9; chunk++)
      await writeLake(
        lake,
        'sensor_reading',
        [0, 1, 2].map((n) =>
          reading({ observed_at: `${ago(2)}T0${n}:${10 + chunk}:00Z`, _offset: chunk * 10 + n, value: chunk + n }),
        ),
      );
    const before = await rowsOf(db, await parquetFiles(lake, 'sensor_reading'));
    const config = await writeConfig(dir.path, {
      ...hubConfig({ compaction: { schedule: '* * * * * *' } }),
      connectors: [{ id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor', once: true }],
      catalogs: { data_resources: 'none', devices: 'none', scenarios: 'none' },
    });
    // Runs until the scheduled compaction says what it did (on a loaded machine the first marts build, holding the
    // build lock, can keep it waiting for a while), then stops as an operator would.
    const hub = startCli(['run', '--role', 'models', '--config', config], { cwd: dir.path });
    await hub.waitFor(/"lake compaction: /);
    hub.child.kill('SIGTERM');
    const code = await hub.exited;
    const stdout = hub.stdout();
    const stderr = hub.stderr();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const logged = stderr
      .split('\n')
      .filter((line) => line.includes('"lake compaction: '))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged[0]).toMatchObject({ days_compacted: 1, files_before: 9, files_after: 1, days_removed: 0 });
    expect(await dayFiles(lake, 'sensor_reading', ago(2))).toEqual([expect.stringMatching(/^compacted~/)]);
    expect(await rowsOf(db, await parquetFiles(lake, 'sensor_reading'))).toEqual(before);
    expect(stdout).toMatch(/marts built: \d+ models → .*; data tests all passed/);
  });
});
