/**
 * `cityhub dlq replay` (issue 11, item 4): dead letters from a wrong mapping, the mapping fixed, replayed, landed once,
 * marts updated. A message part of which landed is not replayed (it would land twice); a replay run twice appends
 * nothing the second time; what a replayed copy dead-letters again says which message it replays.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli, startCli, summaryCounts, tempDir, writeConfig } from '../support/hub-process.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let config: string;

/** Local Asia/Shanghai time `YYYY-MM-DD HH:mm:ss`, `hoursAgo` before now (a plausible reading time). */
function shanghaiTime(hoursAgo: number): string {
  const at = new Date(Date.now() - hoursAgo * 3_600_000 + 8 * 3_600_000);
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

const reading = (device: string, hoursAgo: number, fields: Record<string, unknown> = {}) => ({
  设备编号: device,
  压力: 0.31,
  采集时间: shanghaiTime(hoursAgo),
  区划: '330106',
  ...fields,
});

function mapping(valuePath: string): string {
  return [
    'dataset: sensor_reading',
    'records: 数据',
    'fields:',
    '  device_id: 设备编号',
    '  device_type: { const: water_pressure }',
    '  metric: { const: pressure }',
    `  value: { path: ${valuePath}, type: number }`,
    '  unit: { const: MPa }',
    "  observed_at: { path: 采集时间, time: 'YYYY-MM-DD HH:mm:ss' }",
    '  region_code: 区划',
    'measurement: { value: value, unit: unit, metric: metric }',
  ].join('\n');
}

interface Planned {
  id: string;
  feed: string;
  records: number;
  action: string;
  replayed_as: string;
  why: string;
}

async function replay(...args: string[]): Promise<Planned[]> {
  const result = await runCliInProcess(['dlq', 'replay', '--config', config, '--format', 'json', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Planned[];
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCliInProcess(['query', sql, '--format', 'json', '--config', config]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

async function runHub(): Promise<string> {
  const run = await runCli(['run', '--config', config, '--for', '4s'], { timeoutMs: 180_000 });
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

beforeAll(async () => {
  dir = await tempDir('dlq-replay');
  const at = (...parts: string[]) => join(dir.path, ...parts);
  await writeFile(at('gauges.yaml'), mapping('读数'));
  const inbox = at('inbox');
  await mkdir(inbox, { recursive: true });
  for (let i = 1; i <= 4; i++)
    await writeFile(join(inbox, `s${i}.json`), JSON.stringify({ 数据: [reading(`GP-${i}`, i)] }));
  // A district code the catalog does not know: wrong with either mapping.
  await writeFile(join(inbox, 's5.json'), JSON.stringify({ 数据: [reading('GP-5', 5, { 区划: '990000' })] }));
  // Two readings in one message, the first right under either mapping: it lands, so the message is never replayed.
  await writeFile(
    join(inbox, 's6.json'),
    JSON.stringify({ 数据: [reading('GP-6', 6, { 读数: 0.31 }), reading('GP-7', 7)] }),
  );
  config = await writeConfig(dir.path, {
    region_code: '330000',
    data_dir: 'data',
    privacy: { salt: 'dlq-replay-test-salt-01' },
    catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
    connectors: [
      { id: 'gauges', kind: 'raw-files', path: 'inbox', feed: 'sensor', mapping: 'gauges.yaml', once: true },
    ],
    models: { schedule: '0 0 1 1 *' },
  });
}, 60_000);

afterAll(async () => {
  await dir?.remove();
});

describe('cityhub dlq replay', () => {
  it('replays the dead letters of a wrong mapping once the mapping is fixed: each lands once, the marts follow', async () => {
    const first = await runHub();
    expect(summaryCounts(first, 'sensor')).toMatchObject({ received: 7, landed: 1, dead_lettered: 6 });

    await writeFile(join(dir.path, 'gauges.yaml'), mapping('压力'));
    const planned = await replay('--dry-run');
    expect(planned.filter((p) => p.action === 'would replay')).toHaveLength(5);
    const skipped = planned.filter((p) => p.action === 'skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.why).toMatch(/part of this message landed/);
    await expect(readdir(join(dir.path, 'data', 'lake', '_replays'))).rejects.toThrow(/ENOENT/);

    const replayed = await replay();
    expect(replayed.filter((p) => p.action === 'replayed')).toHaveLength(5);
    for (const p of replayed.filter((r) => r.action === 'replayed'))
      expect(p.replayed_as).toMatch(/^raw\.sensor:\d+:\d+$/);
    // The record of the replay, in the lake beside the dead letters.
    const records = (await readdir(join(dir.path, 'data', 'lake', '_replays'))).filter((f) => f.endsWith('.json'));
    expect(records).toHaveLength(1);
    const record = JSON.parse(await readFile(join(dir.path, 'data', 'lake', '_replays', records[0]!), 'utf8'));
    expect(record.messages.filter((m: { as: string | null }) => m.as !== null)).toHaveLength(5);
    // Twice is once: nothing more is appended.
    const again = await replay();
    expect(again.filter((p) => p.action === 'replayed')).toEqual([]);

    // The pipeline lands the copies with the fixed mapping (the connector does not send its files again).
    const second = await runHub();
    expect(summaryCounts(second, 'sensor')).toMatchObject({ received: 5, landed: 4, dead_lettered: 1 });
    const lake = join(dir.path, 'data', 'lake', 'sensor_reading', '**', '*.parquet');
    const rows = await query(
      `select device_id, count(*) as n from read_parquet('${lake}') group by device_id order by device_id`,
    );
    expect(rows).toEqual(['GP-1', 'GP-2', 'GP-3', 'GP-4', 'GP-6'].map((device_id) => ({ device_id, n: 1 })));
    const marts = await query('select sum(readings_received) as readings from int_sensor_device_days');
    expect(Number(marts[0]!.readings)).toBe(5);

    // The district the catalog does not know is dead-lettered again, naming the message it replays.
    const listed = JSON.parse(
      (await runCliInProcess(['dlq', 'ls', '--config', config, '--format', 'json', '--reason', 'unknown_region']))
        .stdout,
    ) as { id: string }[];
    expect(listed).toHaveLength(1);
    const shown = await runCliInProcess(['dlq', 'show', listed[0]!.id, '--config', config, '--format', 'json']);
    const [letter] = JSON.parse(shown.stdout) as { coordinates: string }[];
    const original = replayed.find((p) => p.replayed_as === listed[0]!.id)!;
    expect(JSON.parse(letter!.coordinates)).toMatchObject({ replay_of: original.id, message_rows: 0 });
    // That copy's dead letter may be replayed after the next fix; the originals never again.
    const third = await replay('--dry-run');
    expect(third.filter((p) => p.action === 'would replay').map((p) => p.id)).toEqual([listed[0]!.id]);
  }, 420_000);

  it('refuses an id that is not a message id, and an embedded bus a running hub holds, saying what to do', async () => {
    const badId = await runCliInProcess(['dlq', 'replay', '--id', 'raw.sensor:0:x', '--config', config]);
    expect(badId.code).not.toBe(0);
    expect(badId.stderr).toMatch(/--id raw\.sensor:0:x: expected <topic>:<partition>:<offset>/);

    const hub = startCli(['run', '--config', config]);
    try {
      await hub.waitFor(/hub running/);
      const busy = await runCliInProcess(['dlq', 'replay', '--config', config]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/held by the running hub .*stop it/);
    } finally {
      hub.child.kill('SIGTERM');
      expect(await hub.exited).toBe(0);
    }
  }, 180_000);
});
