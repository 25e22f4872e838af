import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Feed, feeds } from '../../connectors/types.js';
import { type FeedCorpus, hostileHubConfig, writeHostileCorpus } from '../support/hostile-corpus.js';
import { runCli, summaryCounts, tempDir, writeConfig } from '../support/hub-process.js';

/** Where each feed's valid records land, and the column that holds the id the corpus gave them. */
const landing: Record<Feed, { dataset: string; id: string }> = {
  sensor: { dataset: 'sensor_reading', id: 'device_id' },
  video: { dataset: 'video_alert', id: 'alert_id' },
  hotline: { dataset: 'hotline_case', id: 'case_id' },
  event: { dataset: 'city_event', id: 'event_id' },
  dept: { dataset: 'dept_delivery', id: 'delivery_id' },
};

describe('hostile input through the CLI (issue 6 acceptance)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let corpus: Record<Feed, FeedCorpus>;
  let run: Awaited<ReturnType<typeof runCli>>;
  let lake: string;
  let instance: DuckDBInstance;
  let connection: Awaited<ReturnType<DuckDBInstance['connect']>>;
  const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRows();

  beforeAll(async () => {
    dir = await tempDir('hostile');
    corpus = await writeHostileCorpus(join(dir.path, 'inbox'), { hugeBodies: true });
    const dataDir = join(dir.path, 'data');
    lake = join(dataDir, 'lake');
    const config = await writeConfig(dir.path, hostileHubConfig(dataDir, corpus));
    // Bounded: the hub must stop by itself after --for, drain and exit, whatever the corpus did to it.
    run = await runCli(['run', '--config', config, '--for', '1s'], { timeoutMs: 150_000 });
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(async () => {
    connection?.closeSync();
    instance?.closeSync();
    await dir?.remove();
  });

  it('the corpus holds at least 30 bad bodies per feed, each followed by a valid record', () => {
    for (const feed of feeds) expect(corpus[feed].bad, feed).toBeGreaterThanOrEqual(30);
  });

  it('the run ends by itself with exit 0 in bounded time and the hub never crashed', () => {
    expect(run.code, run.stderr.slice(-4000)).toBe(0);
    expect(run.stdout).toContain('run summary');
    expect(run.stderr).not.toMatch(/uncaught|unhandled|RangeError: Maximum call stack|"level":60/i);
    // Every connector emptied its folder.
    for (const feed of feeds)
      expect(run.stderr, feed).toMatch(new RegExp(`hostile-${feed}.*raw-files folder is empty`));
  });

  it('every file was sent and moved to .sent/', async () => {
    for (const feed of feeds) {
      const left = (await readdir(corpus[feed].folder)).filter((name) => !name.startsWith('.'));
      expect(left, feed).toEqual([]);
      expect((await readdir(join(corpus[feed].folder, '.sent'))).length, feed).toBe(
        corpus[feed].bad + corpus[feed].good,
      );
    }
  });

  it('received = landed + dead-lettered for every feed, and every message was received', () => {
    for (const feed of feeds) {
      const counts = summaryCounts(run.stdout, feed);
      expect(counts, `summary line for ${feed}`).toBeDefined();
      expect(counts!.received, feed).toBe(counts!.landed! + counts!.dead_lettered!);
      if (feed !== 'dept') {
        // (a dept message counts its records one by one)
        expect(counts!.received, `${feed}: every file is one message received`).toBe(
          corpus[feed].bad + corpus[feed].good,
        );
        expect(counts!.landed, `${feed}: only the valid records landed`).toBe(corpus[feed].good);
      }
    }
  });

  it('every valid record landed in the lake', async () => {
    for (const feed of feeds) {
      const { dataset, id } = landing[feed];
      const files = `read_parquet('${lake}/${dataset}/*/*.parquet', hive_partitioning = true)`;
      if (feed === 'sensor') {
        const [[count]] = (await rows(`select count(distinct observed_at) from ${files}`)) as [[bigint]];
        expect(Number(count), feed).toBe(corpus[feed].good);
        continue;
      }
      const landed = (await rows(`select distinct ${id} from ${files}`)).map((r) => String(r[0]));
      expect(landed.sort(), feed).toEqual([...corpus[feed].goodIds].sort());
    }
  });

  it('every bad body is dead-lettered under _dlq/<feed> with a reason', async () => {
    for (const feed of feeds) {
      const letters = await rows(
        `select reason_code, reason from read_parquet('${lake}/_dlq/${feed}/*/*.parquet', hive_partitioning = true, union_by_name = true)`,
      );
      expect(letters.length, `${feed}: one dead letter per bad body`).toBe(corpus[feed].bad);
      for (const [code, reason] of letters) {
        expect(String(code ?? ''), feed).not.toBe('');
        expect(String(reason ?? ''), feed).not.toBe('');
      }
    }
  });

  it('no prototype was polluted in this process, and the hub process survived the same bodies', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(run.code).toBe(0);
  });
});
