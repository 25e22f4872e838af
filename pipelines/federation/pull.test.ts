/**
 * pullMember against a scripted member over real HTTP (node:http on loopback): retries of 5xx and 429 with backoff,
 * no retry of a refusal, a snapshot that changes mid-pull, and the circuit breaker. Sleeps are recorded, not slept.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pullMember } from './pull.js';
import { readMemberState, valuesFile } from './store.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: string;
let dir: string;
let handle: Handler;
let requests: string[];
let slept: number[];

beforeEach(async () => {
  requests = [];
  slept = [];
  dir = await mkdtemp(join(tmpdir(), 'cityhub-federation-'));
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const member = () => ({ id: 'hz', url, token: 'hz-token-0123456789abcdef', region_code: '330100' });
const settings = { timeout_ms: 2000, retries: 2, breaker_failures: 2, breaker_cooldown_ms: 60_000 };
const options = (o: { now?: () => Date; ignoreBreaker?: boolean; settings?: typeof settings } = {}) => ({
  federationDir: dir,
  settings,
  sleep: async (ms: number) => {
    slept.push(ms);
  },
  ...o,
});

const row = (period: string) => ({
  grain: 'month',
  period,
  period_start: `${period}-01`,
  period_end: `${period}-28`,
  is_complete: true,
  counted_end: `${period}-28`,
  data_cutoff: '2026-12-01T16:00:00.000Z',
  region_code: '330100',
  region_level: 'city',
  indicator_code: 'hotline_response_rate',
  unit: 'ratio',
  value: 0.5,
  numerator: 1,
  denominator: 2,
});

/** A member serving snapshot `id` with `pages` pages of one row each. */
function serving(id: () => string, pages = 1): Handler {
  return (req, res) => {
    const path = new URL(req.url!, 'http://x');
    if (req.headers.authorization !== `Bearer ${member().token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"reason":"bad token"}');
      return;
    }
    const etag = `"${id()}"`;
    if (path.pathname === '/api/v1/snapshots/current') {
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res
        .writeHead(200, { etag, 'content-type': 'application/json' })
        .end(JSON.stringify({ snapshot_id: id(), rows: [] }));
      return;
    }
    const offset = Number(path.searchParams.get('offset'));
    const body = { rows: [row(`2026-0${offset + 1}`)], next_offset: offset + 1 < pages ? offset + 1 : null };
    res.writeHead(200, { etag, 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
}

describe('pullMember', () => {
  it('retries a 503 with growing, jittered backoff, then stores every page of one snapshot', async () => {
    let failures = 2;
    const ok = serving(() => 's1', 3);
    handle = (req, res) => {
      if (failures-- > 0) res.writeHead(503).end('{"reason":"building"}');
      else ok(req, res);
    };
    const outcome = await pullMember(member(), options());
    expect(outcome).toEqual({ member: 'hz', status: 'pulled', snapshotId: 's1', rows: 3 });
    expect(slept).toHaveLength(2);
    expect(slept[0]).toBeLessThanOrEqual(500);
    expect(slept[1]).toBeLessThanOrEqual(1000);
    const state = await readMemberState(dir, member());
    expect(state).toEqual(expect.objectContaining({ snapshot_id: 's1', rows: 3, failures: 0, last_error: null }));
    // Nothing new: one request, answered 304.
    requests = [];
    expect(await pullMember(member(), options())).toEqual({ member: 'hz', status: 'unchanged', snapshotId: 's1' });
    expect(requests).toEqual(['GET /api/v1/snapshots/current']);
  });

  it('waits at least Retry-After on a 429', async () => {
    let limited = true;
    const ok = serving(() => 's1');
    handle = (req, res) => {
      if (limited) {
        limited = false;
        res.writeHead(429, { 'retry-after': '7' }).end('{"reason":"slow down"}');
      } else ok(req, res);
    };
    expect((await pullMember(member(), options())).status).toBe('pulled');
    expect(slept).toEqual([7000]);
  });

  it('does not retry a refused token, and keeps the last good values', async () => {
    handle = serving(() => 's1');
    await pullMember(member(), options());
    handle = (_req, res) =>
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"reason":"token revoked"}');
    requests = [];
    const outcome = await pullMember(member(), options());
    expect(outcome).toEqual({
      member: 'hz',
      status: 'failed',
      error: 'member hz: GET /api/v1/snapshots/current answered 401 token revoked',
    });
    expect(requests).toHaveLength(1);
    expect(slept).toEqual([]);
    const state = await readMemberState(dir, member());
    expect(state).toEqual(expect.objectContaining({ snapshot_id: 's1', rows: 1, failures: 1 }));
    expect(state.last_error).toContain('401');
  });

  it('starts again when the snapshot changes between pages, so the values are of one snapshot', async () => {
    let pageRequests = 0;
    const ids = ['s1', 's2'];
    const inner = serving(() => ids[Math.min(1, Math.floor(pageRequests / 2))]!, 2);
    handle = (req, res) => {
      if (req.url!.startsWith('/api/v1/aggregates')) pageRequests++;
      inner(req, res);
    };
    const outcome = await pullMember(member(), options());
    expect(outcome).toEqual({ member: 'hz', status: 'pulled', snapshotId: 's2', rows: 2 });
  });

  it('opens the breaker after repeated failures: the schedule skips the member until the cooldown is over', async () => {
    handle = (_req, res) => res.writeHead(500).end();
    let clock = Date.parse('2026-12-03T00:00:00Z');
    const now = () => new Date(clock);
    expect((await pullMember(member(), options({ now }))).status).toBe('failed');
    expect((await pullMember(member(), options({ now }))).status).toBe('failed');
    requests = [];
    const skipped = await pullMember(member(), options({ now }));
    expect(skipped).toEqual({
      member: 'hz',
      status: 'skipped',
      reason: expect.stringContaining('2 failed pulls in a row'),
    });
    expect(requests).toEqual([]);
    // `cityhub pull` tries anyway; after the cooldown the schedule does too.
    expect((await pullMember(member(), options({ now, ignoreBreaker: true }))).status).toBe('failed');
    clock += 61_000;
    handle = serving(() => 's9');
    expect((await pullMember(member(), options({ now }))).status).toBe('pulled');
    expect((await readMemberState(dir, member())).failures).toBe(0);
  });

  it('pulls only recent periods once it has every period, keeps the older ones, and pulls all again when due', async () => {
    const months = Array.from({ length: 12 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`);
    /** Serves every month of 2026 at `value`; honours `since` (period_end on or after it) unless `refuseSince`. */
    const periods = (id: string, value: number, refuseSince = false): Handler => {
      const snapshot = serving(() => id);
      return (req, res) => {
        const path = new URL(req.url!, 'http://x');
        if (path.pathname !== '/api/v1/aggregates') return snapshot(req, res);
        const since = path.searchParams.get('since');
        if (since !== null && refuseSince) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"reason":"unknown parameter since"}');
          return;
        }
        const rows = months.map((m) => ({ ...row(m), value })).filter((r) => since === null || r.period_end >= since);
        res
          .writeHead(200, { etag: `"${id}"`, 'content-type': 'application/json' })
          .end(JSON.stringify({ rows, next_offset: null }));
      };
    };
    const recent = { ...settings, recent_days: 45, full_pull_after_ms: 86_400_000 };
    let clock = Date.parse('2026-12-03T02:00:00Z');
    const o = () => options({ now: () => new Date(clock), settings: recent });
    const stored = async () => {
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      try {
        const reader = await connection.runAndReadAll(
          `select period, member_snapshot_id, value from read_parquet('${valuesFile(dir, 'hz')}') order by period`,
        );
        return reader.getRows().map((r) => r.join(' '));
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    };

    handle = periods('s1', 0.5);
    expect(await pullMember(member(), o())).toMatchObject({ status: 'pulled', rows: 12 });
    expect(requests.filter((r) => r.includes('since='))).toEqual([]);

    // Periods ending from 2026-10-19 (45 days before 2026-12-03 in Asia/Shanghai) come again; the others stay.
    handle = periods('s2', 0.9);
    requests = [];
    expect(await pullMember(member(), o())).toMatchObject({ status: 'pulled', rows: 3 });
    expect(requests).toContain('GET /api/v1/aggregates?limit=10000&offset=0&since=2026-10-19');
    expect(await stored()).toEqual(months.map((m) => (m >= '2026-10' ? `${m} s2 0.9` : `${m} s1 0.5`)));
    expect((await readMemberState(dir, member())).rows).toBe(12);

    // A day later the last full pull is too old: every period again.
    clock += 86_400_000 + 1;
    handle = periods('s3', 0.7);
    expect(await pullMember(member(), o())).toMatchObject({ status: 'pulled', rows: 12 });
    expect(await stored()).toEqual(months.map((m) => `${m} s3 0.7`));

    // A member that does not know `since` (400) is pulled whole instead.
    handle = periods('s4', 0.2, true);
    expect(await pullMember(member(), o())).toMatchObject({ status: 'pulled', rows: 12 });
    expect(await stored()).toEqual(months.map((m) => `${m} s4 0.2`));
  });
});
