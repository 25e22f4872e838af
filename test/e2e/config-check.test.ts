/**
 * `cityhub config check` rejects everything `cityhub run` would reject, and `run` rejects it the same way before
 * writing anything (issue 6, items 9 and 10). Drives the CLI as an operator would: in-process through the `main`
 * bin/cityhub.js calls where no process of its own is needed (a child costs 1–2 s of Node start each), as a child
 * process for the bin's own exit code and streams, another user, the data-dir lock held by another process and a
 * real run.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirLock } from '../../pipelines/bus/embedded/lock.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { projectRoot, runCli, tempDir, writeConfig } from '../support/hub-process.js';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const demo = { id: 'demo', kind: 'demo', live: false, months: 1, scale: 0.2 };
const replay = { id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor', once: true };

function hubConfig(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    region_code: '330000',
    data_dir: 'data',
    privacy: { salt: 'config-check-salt' },
    connectors: [demo],
    ...overrides,
  };
}

/** Every path under `root`, so a test can tell that a command created nothing. */
async function listing(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).sort();
}

/** The lines of a ConfigError (`  - key: expected (got …)`), as the CLI printed them. */
function issueLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('  - '));
}

const rejected: {
  name: string;
  config: Record<string, unknown>;
  setup?: (root: string) => Promise<void>;
  line: RegExp;
}[] = [
  {
    name: 'a cron schedule node-cron rejects',
    config: hubConfig({ models: { schedule: '61 * * * *' } }),
    line: /^ {2}- models\.schedule: a cron expression .*61 is a invalid expression for minute \(got "61 \* \* \* \*"\)$/,
  },
  {
    name: 'a data_dir that is a file',
    config: hubConfig({ data_dir: 'data' }),
    setup: (root) => writeFile(join(root, 'data'), 'a file, not a folder'),
    line: /^ {2}- data_dir: a folder this user can write \(.*data is a file\) \(got "data"\)$/,
  },
  {
    name: 'a region_code absent from the region catalog',
    config: hubConfig({ region_code: '110000' }),
    line: /^ {2}- region_code: a region listed in the region catalog .*\(got "110000"\)$/,
  },
  {
    name: 'duplicate connector ids',
    config: hubConfig({ connectors: [demo, { ...replay, id: 'demo' }] }),
    line: /^ {2}- connectors\[1\]\.id: an id no other connector has .*\(got "demo"\)$/,
  },
  {
    name: 'a Kafka bus whose TLS CA file cannot be read',
    config: hubConfig({ bus: { type: 'kafka', brokers: 'kafka:9092', tls: { ca_file: 'kafka-ca.pem' } } }),
    line: /^ {2}- bus\.tls\.ca_file: a readable PEM file \(.*kafka-ca\.pem cannot be read \(ENOENT\)\) \(got "kafka-ca\.pem"\)$/,
  },
  {
    name: 'lake.type s3 with a secret but no key id',
    config: hubConfig({ lake: { type: 's3', bucket: 'city-lake', secret_access_key: '${CITYHUB_S3_SECRET:-s}' } }),
    line: /^ {2}- lake\.access_key_id: lake\.access_key_id beside lake\.secret_access_key \(both, or neither for/,
  },
  {
    name: 'a device registry nobody provides (connectors without catalogs, no catalogs.devices)',
    config: hubConfig({ connectors: [replay], catalogs: { data_resources: 'none', scenarios: 'none' } }),
    setup: (root) => mkdir(join(root, 'inbox')),
    line: /^ {2}- catalogs\.devices: a devices catalog file, or "none" for an explicitly empty catalog/,
  },
  {
    name: 'a catalog file with a bad row',
    config: hubConfig({ catalogs: { regions: 'regions.csv' } }),
    setup: (root) =>
      writeFile(
        join(root, 'regions.csv'),
        'code,name,level,parent_code\n330000,浙江省,province,\n330106,西湖区,county,330000\n',
      ),
    line: /^ {2}- catalogs\.regions: a valid regions catalog: .*regions\.csv:3 field level: /,
  },
];

describe('config check and run reject the same configs, before anything is written', () => {
  it.each(rejected)('$name', async ({ config, setup, line }) => {
    const root = await tempDir('check');
    try {
      await setup?.(root.path);
      const file = await writeConfig(root.path, config);
      const before = await listing(root.path);
      const check = await runCliInProcess(['config', 'check', '--config', file]);
      const run = await runCliInProcess(['run', '--config', file, '--for', '1s']);
      expect(check.code, check.stderr).toBe(1);
      expect(issueLines(check.stderr)).toContainEqual(expect.stringMatching(line));
      expect(run.code, run.stderr).toBe(1);
      expect(issueLines(run.stderr)).toEqual(issueLines(check.stderr));
      expect(run.stderr).not.toMatch(/\n\s+at /); // one message, no stack trace
      expect(await listing(root.path)).toEqual(before);
    } finally {
      await root.remove();
    }
  });

  it('a data_dir this user cannot write (as an unprivileged user even when the tests run as root)', async () => {
    // The unprivileged user must reach the project to run its CLI, wherever the clone is (a mktemp folder is 0700):
    // grant traversal to folders above it that lack it, for this test only.
    const restore = process.getuid?.() === 0 ? await traversableByOthers(projectRoot) : async () => {};
    try {
      await unwritableDataDirIsRejected();
    } finally {
      await restore();
    }
  });

  async function traversableByOthers(path: string): Promise<() => Promise<void>> {
    const changed: [string, number][] = [];
    for (let at = path; at !== dirname(at); at = dirname(at)) {
      const mode = (await stat(at)).mode & 0o7777;
      if ((mode & 0o001) === 0) {
        await chmod(at, mode | 0o001);
        changed.push([at, mode]);
      }
    }
    return async () => {
      for (const [at, mode] of changed) await chmod(at, mode);
    };
  }

  async function unwritableDataDirIsRejected(): Promise<void> {
    dir = await tempDir('check');
    await chmod(dir.path, 0o755); // the unprivileged user reads the config
    await mkdir(join(dir.path, 'readonly'), { mode: 0o555 });
    const file = await writeConfig(dir.path, hubConfig({ data_dir: 'readonly/data' }));
    await chmod(file, 0o644);
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const [check, run] = await Promise.all(
      [
        ['config', 'check', '--config', file],
        ['run', '--config', file, '--for', '1s'],
      ].map(
        (args) =>
          new Promise<{ code: number; stderr: string }>((resolve) => {
            execFile(
              process.execPath,
              [join(projectRoot, 'bin/cityhub.js'), ...args],
              { cwd: dir!.path, ...asUser },
              (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
            );
          }),
      ),
    );
    for (const result of [check!, run!]) {
      expect(result.code, result.stderr).toBe(1);
      expect(issueLines(result.stderr)).toContainEqual(
        expect.stringMatching(/^ {2}- data_dir: a folder this user can write \(.*readonly is not writable\)/),
      );
    }
    expect(await readdir(join(dir.path, 'readonly'))).toEqual([]);
  }

  it('`config check` shows where every catalog comes from', async () => {
    dir = await tempDir('check');
    const file = await writeConfig(dir.path, hubConfig({ catalogs: { devices: 'none' } }));
    const { code, stdout } = await runCliInProcess(['config', 'check', '--config', file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\(catalog\) regions = bundled .*regions\.csv/);
    expect(stdout).toContain('(catalog) scenarios = provided by connector demo');
    expect(stdout).toContain('(catalog) devices = explicitly empty (none)');
  });

  it('`config check` and `run` refuse a models folder whose model calls an unknown macro, naming the file, before writing', async () => {
    dir = await tempDir('models');
    const model = join(dir.path, 'models', 'marts', 'mart_x.sql');
    await mkdir(dirname(model), { recursive: true });
    await writeFile(
      model,
      "-- name: mart_x\n-- description: x\n-- materialization: table\n\nselect {{ shanghai_dat('t') }} as d\n",
    );
    const file = await writeConfig(dir.path, hubConfig({ models: { sql_dir: 'models' } }));
    const before = await listing(dir.path);
    const check = await runCliInProcess(['config', 'check', '--config', file]);
    const run = await runCliInProcess(['run', '--config', file, '--for', '1s']);
    for (const { code, stderr } of [check, run]) {
      expect(code, stderr).toBe(1);
      expect(stderr).toContain(`${model}: header field "sql": unknown macro shanghai_dat() (macros: `);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    expect(await listing(dir.path)).toEqual(before);

    await writeFile(model, (await readFile(model, 'utf8')).replace('shanghai_dat(', 'shanghai_date('));
    const fixed = await runCliInProcess(['config', 'check', '--config', file]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain(`(models) 1 models in ${join(dir.path, 'models')}`);
  });

  it('`cityhub` with no arguments prints the usage and exits 2 (usage error)', async () => {
    // A child process on purpose: this is the test of bin/cityhub.js itself (its exit code and stderr).
    const { code, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: cityhub <command>');
  });
});

describe('a hub refused by the data-dir lock', () => {
  it('exits 1 naming the lock and leaves the catalogs of the hub holding it alone', async () => {
    dir = await tempDir('locked');
    const file = await writeConfig(dir.path, hubConfig({}));
    const busDir = join(dir.path, 'data', 'bus');
    await mkdir(busDir, { recursive: true });
    const lock = DirLock.acquire(busDir);
    try {
      const { code, stderr } = await runCli(['run', '--config', file, '--for', '1s']);
      expect(code, stderr).toBe(1);
      expect(stderr).toContain(`is already open by process ${process.pid}`);
      expect(await readdir(join(dir.path, 'data'))).toEqual(['bus']);
    } finally {
      lock.release();
    }
  });
});

describe('`cityhub models run` takes catalogs by the same rule, without the demo', () => {
  it('fails clearly when a connector-provided catalog was never published by a hub run', async () => {
    dir = await tempDir('models');
    const file = await writeConfig(dir.path, hubConfig({}));
    const { code, stderr } = await runCliInProcess(['models', 'run', '--config', file]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /catalog data_resources \(provided by connector demo\) is not available: .*catalogs\.data_resources/,
    );
  });

  it('reads the catalogs a hub run published; `catalogs.devices: none` leaves the marts without devices', async () => {
    dir = await tempDir('models');
    const file = await writeConfig(
      dir.path,
      hubConfig({ catalogs: { devices: 'none' }, landing: { max_age_ms: 300 } }),
    );
    const run = await runCli(['run', '--config', file, '--for', '1s']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/"catalog":"devices","source":"explicitly empty \(none\)","entries":0/);
    expect(run.stderr).toMatch(/"catalog":"scenarios","source":"provided by connector demo","entries":[1-9]/);
    expect(JSON.parse(await readFile(join(dir.path, 'data/catalogs/devices.json'), 'utf8'))).toEqual([]);
    // The run is a real one (a child, as an operator starts it); what reads its output after it needs no process.
    const models = await runCliInProcess(['models', 'run', '--config', file]);
    expect(models.stderr).not.toMatch(/not available|invalid config/);
    expect(models.stdout).toMatch(/data tests: \d+ passed/);
    // The hub's run built the marts from this lake already: nothing changed, no lake day is read again.
    expect(models.stdout).toMatch(/int_sensor_device_days +\d+ ms {2}incremental \(0 lake days\)/);
    const refreshed = await runCliInProcess(['models', 'run', '--full-refresh', '--config', file]);
    expect(refreshed.stdout).toMatch(/int_sensor_device_days +\d+ ms {2}full/);
    expect(refreshed.stdout).toMatch(/full build: full refresh asked for/);
    const selected = await runCliInProcess(['models', 'run', '--select', 'mart_hotline', '--config', file]);
    // A selected model is built as it would be anyway: mart_hotline by the periods that changed (none here).
    expect(selected.stdout).toMatch(/mart_hotline +\d+ ms {2}incremental \(0 periods\)/);
    expect(selected.stdout).toMatch(/mart_data_sharing +\d+ ms {2}copied/);
    const docs = await runCliInProcess(['models', 'docs', '--config', file]);
    expect(docs.stdout).toMatch(/models\.html: \d+ models \(\d+ with columns from the marts file\)/);
    expect(await readFile(join(dir.path, 'data/models.html'), 'utf8')).toContain('<h1>cityhub models</h1>');
    const query = await runCliInProcess([
      'query',
      '--config',
      file,
      '--format',
      'csv',
      'select (select count(*) from seed_devices) as devices, (select count(*) from seed_scenarios) as scenarios',
    ]);
    expect(query.code, query.stderr).toBe(0);
    expect(query.stdout).toMatch(/^devices,scenarios\r?\n0,[1-9]\d*\r?\n/);
  });
});
