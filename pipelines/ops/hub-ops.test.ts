/**
 * HubOps from the outside: a failing connector and a failed marts build show as problems in the status and in the
 * metrics; the status file round-trips through its schema; `cityhub status` judges a hub running or not from the
 * file's age, the process it names and the data dir's lock.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector, ConnectorHealth } from '../../connectors/types.js';
import { parsePrometheusText, sampleValue } from '../../test/support/prometheus-text.js';
import { DirLock } from '../bus/embedded/lock.js';
import { HubOps } from './hub-ops.js';
import type { HubStatus } from './hub-status.js';
import { judgeLiveness, STATUS_STALE_AFTER_MS } from './liveness.js';
import { readStatusFiles, writeStatusFile } from './status-file.js';

const log = pino({ level: 'silent' });

function connector(id: string, health: ConnectorHealth): Connector {
  return {
    id,
    kind: 'raw-files',
    start: async () => {},
    stop: async () => {},
    done: Promise.resolve(),
    health: () => health,
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-ops-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('HubOps', () => {
  it('reports a failed connector and a failed marts build as problems, and a skipped build not at all', async () => {
    let clock = Date.parse('2026-08-01T00:00:00Z');
    const ops = new HubOps({ role: 'all', regionCode: '330000', log, buildsMarts: true, now: () => clock });
    ops.watchConnectors([
      connector('inbox', { state: 'failed', sent: { sensor: 3 }, error: 'EACCES: inbox', retries: 2 }),
      connector('files', { state: 'running', sent: {} }),
    ]);
    await ops.trackMartsBuild(async () => {
      clock += 2_500;
      return { models: 3 };
    });
    // Another process held the build lock: no build, nothing recorded.
    await ops.trackMartsBuild(async () => null);
    await expect(
      ops.trackMartsBuild(async () => {
        clock += 1_000;
        throw new Error('data tests failed: 1 of error severity\nmore detail');
      }),
    ).rejects.toThrow('data tests failed');

    const status = await ops.status();
    expect(status.problems).toEqual([
      'connector inbox failed: EACCES: inbox',
      'the last marts build failed: data tests failed: 1 of error severity',
    ]);
    expect(status.marts).toEqual({
      last_build: {
        at: '2026-08-01T00:00:03.500Z',
        duration_ms: 1000,
        status: 'failed',
        error: 'data tests failed: 1 of error severity',
      },
      builds_ok: 1,
      builds_failed: 1,
    });
    expect(status.pipeline).toBeNull();

    const metrics = parsePrometheusText(await ops.metrics());
    expect(sampleValue(metrics, 'cityhub_marts_builds_total', { status: 'ok' })).toBe(1);
    expect(sampleValue(metrics, 'cityhub_marts_builds_total', { status: 'failed' })).toBe(1);
    expect(sampleValue(metrics, 'cityhub_marts_last_build_success')).toBe(0);
    expect(sampleValue(metrics, 'cityhub_marts_last_success_timestamp_seconds')).toBe(
      Date.parse('2026-08-01T00:00:02.500Z') / 1000,
    );
    expect(
      sampleValue(metrics, 'cityhub_marts_build_duration_seconds', {}, 'cityhub_marts_build_duration_seconds_sum'),
    ).toBe(3.5);
    expect(
      sampleValue(metrics, 'cityhub_connector_state', { connector: 'inbox', kind: 'raw-files', state: 'failed' }),
    ).toBe(1);
    expect(sampleValue(metrics, 'cityhub_connector_send_retries_total', { connector: 'inbox' })).toBe(2);
    // No pipeline and no API in this process: their families are absent, not zero.
    expect(metrics.has('cityhub_records_received_total')).toBe(false);
    expect(metrics.has('cityhub_api_requests_total')).toBe(false);
  });
});

describe('the status file and whether its hub runs', () => {
  async function written(over: Partial<HubStatus> = {}): Promise<HubStatus> {
    const ops = new HubOps({ role: 'all', regionCode: '330000', log, buildsMarts: false });
    ops.setState('running');
    const status = { ...(await ops.status()), ...over };
    await writeStatusFile(dir, status);
    return status;
  }

  /** The pid of a process that has ended. */
  function deadPid(): number {
    return spawnSync(process.execPath, ['-e', '']).pid!;
  }

  it('reads back what was written, checked by the schema; a process of one role has its own file', async () => {
    const all = await written();
    const ops = new HubOps({ role: 'api', regionCode: '330000', log, buildsMarts: false });
    await writeStatusFile(dir, await ops.status());
    const read = await readStatusFiles(dir);
    expect(read.map((r) => r.file)).toEqual([join(dir, 'status.json'), join(dir, 'status.api.json')]);
    expect(read[0]!.status).toEqual(all);
    expect(await readStatusFiles(join(dir, 'missing'))).toEqual([]);
  });

  it('running: fresh, or its process alive, or the data dir locked; not running: stopped, or stale and nobody there', async () => {
    const stale = STATUS_STALE_AFTER_MS + 1;
    const mine = await written();
    expect(judgeLiveness(mine, 1_000, [dir])).toMatchObject({ running: true });
    // Stale, but the process that wrote it (this one) is alive: a status write failing, not a hub gone.
    expect(judgeLiveness(mine, stale, [dir])).toMatchObject({ running: true });
    const orphan = await written({ process: { ...mine.process, pid: deadPid(), started: '1' } });
    expect(judgeLiveness(orphan, 1_000, [dir])).toMatchObject({ running: true });
    expect(judgeLiveness(orphan, stale, [dir])).toMatchObject({
      running: false,
      why: expect.stringContaining('no process holds the data dir'),
    });
    const lock = DirLock.acquire(dir);
    try {
      expect(judgeLiveness(orphan, stale, [dir])).toMatchObject({
        running: true,
        why: expect.stringContaining(`process ${process.pid}`),
      });
    } finally {
      lock.release();
    }
    const stopped = await written({ state: 'stopped' });
    expect(judgeLiveness(stopped, 0, [dir])).toMatchObject({ running: false, why: expect.stringContaining('stopped') });
  });
});
