import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';
import { tempDir } from '../support/hub-process.js';

// Nothing here needs a process of its own: each command runs in-process through the `main` bin/cityhub.js calls
// (a child costs 1–2 s of Node start and module load each). What does need one (the bin's exit code and streams,
// signals, another user, a real run) is in config-check.test.ts and the other end-to-end tests.
describe('the cityhub CLI', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await dir?.remove();
    dir = undefined;
  });

  it.each(['run', 'query', 'models', 'config', 'schemas', 'bus', 'catalogs', 'mappings'])(
    '`cityhub %s --help` explains the command and exits 0',
    async (command) => {
      const { code, stdout } = await runCliInProcess([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Usage: cityhub ${command}`));
    },
  );

  it.each(['frobnicate', 'constructor'])('an unknown command (%s) exits 2 and lists the commands', async (name) => {
    const { code, stderr } = await runCliInProcess([name]);
    expect(code).toBe(2);
    expect(stderr).toContain(`unknown command "${name}"`);
    expect(stderr).toContain('config check');
  });

  it('`config check` accepts the built-in demo and explains keys with their meaning, masking the salt', async () => {
    const { code, stdout } = await runCliInProcess(['config', 'check']);
    expect(code).toBe(0);
    expect(stdout).toContain('is valid');
    expect(stdout).toMatch(/region_code = "330000" +# /);
    expect(stdout).toMatch(/privacy\.hmac_key = ••••••/);
    expect(stdout).not.toContain('cityhub-demo-key');
  });

  it('a bad config fails fast naming the key path, the value and what was expected', async () => {
    dir = await tempDir('cli');
    const file = join(dir.path, 'bad.yaml');
    await writeFile(
      file,
      'region_code: "33"\nprivacy:\n  salt: ${CITYHUB_TEST_SALT}\nconnectors:\n  - id: demo\n    kind: demo\n    months: "three"\nlanding:\n  max_rows: 0\n',
    );
    const { code, stderr } = await runCliInProcess(['run', '--config', file, '--for', '1s'], {
      env: { CITYHUB_TEST_SALT: 'super-secret-salt-value' },
    });
    expect(code).toBe(1);
    expect(stderr).toContain(file);
    expect(stderr).toMatch(/region_code: .*6-digit.*\(got "33"\)/);
    expect(stderr).toMatch(/connectors\[0\]\.months: .*\(got "three"\)/);
    expect(stderr).toMatch(/landing\.max_rows: /);
    expect(stderr).not.toContain('super-secret-salt-value');
    // Nothing was started: no data folder appeared.
    expect(await readdir(dir.path)).toEqual(['bad.yaml']);
  });

  it('a missing environment variable is named with its key path', async () => {
    dir = await tempDir('cli');
    const file = join(dir.path, 'env.yaml');
    await writeFile(
      file,
      'region_code: "330000"\nprivacy:\n  salt: ${CITYHUB_UNSET_SALT_VAR}\nconnectors:\n  - { id: demo, kind: demo }\n',
    );
    const { code, stderr } = await runCliInProcess(['config', 'check', '--config', file]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/privacy\.salt: environment variable CITYHUB_UNSET_SALT_VAR to be set/);
  });

  it('`schemas export` writes a versioned JSON Schema per canonical dataset and catalog', async () => {
    dir = await tempDir('cli');
    const { code } = await runCliInProcess(['schemas', 'export', '--out', dir.path]);
    expect(code).toBe(0);
    const files = (await readdir(dir.path)).sort();
    expect(files).toEqual(
      [
        'city_event',
        'data_resources',
        'dept_delivery',
        'dept_record',
        'devices',
        'hotline_case',
        'regions',
        'scenarios',
        'sensor_reading',
        'video_alert',
      ].map((n) => `${n}.schema.json`),
    );
    const sensor = JSON.parse(await readFile(join(dir.path, 'sensor_reading.schema.json'), 'utf8'));
    expect(sensor.version).toBe(1);
    expect(sensor.required).toEqual(
      expect.arrayContaining(['device_id', 'observed_at', 'region_code', 'value', 'unit']),
    );
    expect(sensor.additionalProperties).toBe(false);
  });

  it('`run --for` rejects a malformed duration as a usage error', async () => {
    const { code, stderr } = await runCliInProcess(['run', '--for', 'soon']);
    expect(code).toBe(2);
    expect(stderr).toContain('invalid duration "soon"');
  });
});
