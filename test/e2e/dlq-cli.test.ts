/**
 * `cityhub dlq ls|show` after a real demo run (its simulator sends hostile records on purpose): the dead letters the
 * lake holds, per feed, equal the run summary's dead-lettered counts; filters narrow them; one message shows in full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli, summaryCounts, tempDir, writeConfig } from '../support/hub-process.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let config: string;
let summary: string;

beforeAll(async () => {
  dir = await tempDir('dlq');
  config = await writeConfig(dir.path, {
    region_code: '330000',
    data_dir: 'data',
    privacy: { salt: 'dlq-cli-test-salt-0123' },
    connectors: [{ id: 'demo', kind: 'demo', live: false, months: 1, scale: 0.2 }],
  });
  const run = await runCli(['run', '--config', config, '--for', '8s'], { timeoutMs: 240_000 });
  expect(run.code, run.stderr).toBe(0);
  summary = run.stdout;
}, 260_000);

afterAll(async () => {
  await dir?.remove();
});

interface Listed {
  id: string;
  feed: string;
  reason_code: string;
  records: number;
  dead_lettered_at: string;
}

async function ls(...args: string[]): Promise<Listed[]> {
  const result = await runCliInProcess([
    'dlq',
    'ls',
    '--config',
    config,
    '--format',
    'json',
    '--limit',
    '1000000',
    ...args,
  ]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Listed[];
}

describe('cityhub dlq', () => {
  it('lists every dead letter the run summary counted, per feed', async () => {
    const all = await ls();
    expect(all.length).toBeGreaterThan(0);
    for (const feed of ['sensor', 'video', 'hotline', 'event', 'dept']) {
      const counted = summaryCounts(summary, feed);
      const listed = all.filter((d) => d.feed === feed).reduce((n, d) => n + d.records, 0);
      expect(listed, feed).toBe(counted?.dead_lettered ?? 0);
    }
    // Newest first.
    const times = all.map((d) => d.dead_lettered_at);
    expect(times).toEqual([...times].sort().reverse());
  });

  it('narrows by feed, reason and time, and shows one message in full', async () => {
    const all = await ls();
    const { feed, reason_code: reason, id } = all[0]!;
    const narrowed = await ls('--feed', feed, '--reason', reason);
    expect(narrowed).toEqual(all.filter((d) => d.feed === feed && d.reason_code === reason));
    expect(await ls('--since', '1h')).toEqual(all);
    expect(await ls('--since', '2099-01-01')).toEqual([]);
    const table = await runCliInProcess(['dlq', 'ls', '--config', config]);
    expect(table.stdout).toMatch(/feed\s+\|\s+reason_code\s+\|\s+dead_letters\s+\|\s+records/);

    const shown = await runCliInProcess(['dlq', 'show', id, '--config', config]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`(message ${id})`);
    expect(shown.stdout).toMatch(new RegExp(`reason_code\\s+${reason}`));
    expect(shown.stdout).toMatch(/raw\s+\S/);
    const missing = await runCliInProcess(['dlq', 'show', 'raw.sensor:0:999999999', '--config', config]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('no dead letter of message raw.sensor:0:999999999');
  });

  it('refuses a bad feed, limit or id with a usage error', async () => {
    expect((await runCliInProcess(['dlq', 'ls', '--config', config, '--feed', 'water'])).code).toBe(2);
    expect((await runCliInProcess(['dlq', 'ls', '--config', config, '--limit', '0'])).code).toBe(2);
    expect((await runCliInProcess(['dlq', 'show', 'nonsense', '--config', config])).code).toBe(2);
    expect((await runCliInProcess(['dlq', 'ls', '--config', config, '--since', 'yesterday'])).code).toBe(2);
  });
});
