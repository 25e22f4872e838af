/**
 * The upstream API over real HTTP (fastify listening on loopback, fetch): tokens and their scopes, parameter
 * validation, JSON / CSV / Arrow answers read back, ETag, paging, the rate limit, the audit log — against marts built
 * by the bundled models from a small lake, compared with the same marts queried directly.
 */
import { readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestMarts, hotline, type MartRow, tempDirs } from '../models/testing.js';
import { buildApiApp } from './app.js';
import { AuditLog } from './audit.js';
import { MartsSnapshots } from './snapshot.js';
import { TokenRegistry, tokenHash } from './tokens.js';

const tokens = {
  province: 'zhejiang-province-token-0123456789',
  hangzhou: 'hangzhou-city-token-0123456789abcd',
  jiangsu: 'jiangsu-province-token-0123456789a',
  hotlineOnly: 'hotline-only-token-0123456789abcdef',
  limited: 'limited-token-0123456789abcdefghij',
};

const grants = [
  { id: 'zj', sha256: tokenHash(tokens.province), regions: ['33'], indicators: ['*'] },
  { id: 'hz', sha256: tokenHash(tokens.hangzhou), regions: ['3301'], indicators: ['*'] },
  { id: 'js', sha256: tokenHash(tokens.jiangsu), regions: ['32'], indicators: ['*'] },
  { id: 'hotline', sha256: tokenHash(tokens.hotlineOnly), regions: ['33'], indicators: ['hotline_response_rate'] },
  { id: 'slow', sha256: tokenHash(tokens.limited), regions: ['33'], indicators: ['*'], requests_per_minute: 2 },
];

let dirs: Awaited<ReturnType<typeof tempDirs>>;
let app: FastifyInstance;
let base: string;
let martsPath: string;
let auditDir: string;
let audit: AuditLog;
let snapshots: MartsSnapshots;
let query: (sql: string) => Promise<MartRow[]>;

const lake = {
  hotline_case: [
    hotline({ case_id: 'c1', received_at: '2026-07-01T02:00:00Z', region_code: '330102', status: 'received' }),
    hotline({
      case_id: 'c1',
      received_at: '2026-07-01T02:00:00Z',
      region_code: '330102',
      status: 'closed',
      updated_at: '2026-07-02T02:00:00Z',
      closed_at: '2026-07-02T02:00:00Z',
      contacted: true,
      resolved: true,
      satisfaction: 'satisfied',
    }),
    hotline({ case_id: 'c2', received_at: '2026-07-03T02:00:00Z', region_code: '330200', status: 'received' }),
  ],
};

beforeAll(async () => {
  dirs = await tempDirs();
  const built = await buildTestMarts(dirs, { regionCode: '330000', lake, now: new Date('2026-08-15T12:00:00+08:00') });
  martsPath = built.result.martsPath;
  query = built.query;
  auditDir = join(await dirs.make(), 'audit');
  audit = new AuditLog(auditDir);
  snapshots = new MartsSnapshots(martsPath);
  app = buildApiApp({ snapshots, tokens: new TokenRegistry(grants, 600), audit, regionCode: '330000' });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  snapshots?.close();
  await audit?.close();
  await dirs?.cleanup();
});

const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
  });

async function rows(path: string, token: string): Promise<MartRow[]> {
  const response = await get(path, token);
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { rows: MartRow[] }).rows;
}

const direct = (where: string) =>
  query(`select * from mart_indicator_values where ${where} order by indicator_code, grain, period, region_code`);

describe('the upstream API', () => {
  it('serves a province every indicator value of its cities, equal to the marts and sorted', async () => {
    const expected = await direct('true');
    expect(expected.length).toBeGreaterThan(100);
    const all: MartRow[] = [];
    for (let offset = 0; ; ) {
      const response = await get(`/api/v1/aggregates?limit=5000&offset=${offset}`, tokens.province);
      const page = (await response.json()) as { rows: MartRow[]; next_offset: number | null; snapshot_id: string };
      all.push(...page.rows);
      if (page.next_offset === null) break;
      expect(response.headers.get('link')).toBe(
        `</api/v1/aggregates?limit=5000&offset=${page.next_offset}>; rel="next"`,
      );
      offset = page.next_offset;
    }
    expect(all).toEqual(expected);
    // The hotline values of July at the province: one case answered, contacted and resolved of one follow-up.
    const july = await rows(
      '/api/v1/aggregates?indicator=hotline_resolution_rate&grain=month&period=2026-07&region=330100',
      tokens.province,
    );
    expect(july).toEqual([
      expect.objectContaining({
        indicator_code: 'hotline_resolution_rate',
        grain: 'month',
        period: '2026-07',
        period_start: '2026-07-01',
        period_end: '2026-07-31',
        is_complete: true,
        region_code: '330100',
        region_level: 'city',
        numerator: 1,
        denominator: 1,
        value: 1,
      }),
    ]);
  });

  it('narrows to periods ending on or after `since`: what a pull of recent periods asks for', async () => {
    const whole = await rows('/api/v1/aggregates?limit=10000', tokens.province);
    const recent = await rows('/api/v1/aggregates?since=2026-07-15&limit=10000', tokens.province);
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(whole.length);
    expect(recent).toEqual(whole.filter((r) => String(r.period_end) >= '2026-07-15'));
  });

  it('pages with limit and offset: the pages together are the whole answer', async () => {
    const whole = await rows('/api/v1/aggregates?grain=month&limit=10000', tokens.province);
    const first = (await (await get('/api/v1/aggregates?grain=month&limit=7', tokens.province)).json()) as {
      rows: MartRow[];
      next_offset: number;
    };
    const second = await rows(`/api/v1/aggregates?grain=month&limit=7&offset=${first.next_offset}`, tokens.province);
    expect([...first.rows, ...second]).toEqual(whole.slice(0, 14));
  });

  it('answers 401 without a token or with one it does not know, and names the scheme', async () => {
    for (const response of [
      await get('/api/v1/aggregates'),
      await get('/api/v1/aggregates', 'not-a-token-of-this-hub-000000000'),
      await get('/api/v1/indicators', undefined, { authorization: `Basic ${tokens.province}` }),
    ]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="cityhub"');
      expect(((await response.json()) as { error: string }).error).toBe('unauthorized');
    }
  });

  it("keeps a city token to its own regions and another province's token out", async () => {
    const hz = await rows('/api/v1/aggregates?grain=month&limit=10000', tokens.hangzhou);
    expect(hz.length).toBeGreaterThan(0);
    expect(hz).toEqual(await direct("grain = 'month' and starts_with(region_code, '3301')"));
    const forbidden = await get('/api/v1/aggregates?region=330200', tokens.hangzhou);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { reason: string }).reason).toContain('may not read region 330200');
    expect((await get('/api/v1/aggregates?region=330102', tokens.jiangsu)).status).toBe(403);
    expect(await rows('/api/v1/aggregates', tokens.jiangsu)).toEqual([]);
  });

  it('keeps an indicator-scoped token to its indicators, in the catalog too', async () => {
    const values = await rows('/api/v1/aggregates?limit=10000', tokens.hotlineOnly);
    expect(new Set(values.map((r) => r.indicator_code))).toEqual(new Set(['hotline_response_rate']));
    expect((await get('/api/v1/aggregates?indicator=data_sharing_rate', tokens.hotlineOnly)).status).toBe(403);
    const catalog = await rows('/api/v1/indicators', tokens.hotlineOnly);
    expect(catalog.map((r) => r.code)).toEqual(['hotline_response_rate']);
    expect((await rows('/api/v1/indicators', tokens.province)).length).toBe(
      (await query('select count(*) as n from mart_indicators'))[0]!.n,
    );
  });

  it.each([
    ['period=2026-07', 'period', 'needs its grain'],
    ['grain=month&period=2026-13', 'period', 'a month period is YYYY-MM'],
    ['grain=day&period=2026-02-30', 'period', 'a day period is YYYY-MM-DD'],
    ['grain=quarter&period=2026-Q5', 'period', 'YYYY-Qn'],
    ['grain=week', 'grain', 'one of day, month, quarter, year'],
    ['region=33010', 'region', '6-digit region code'],
    [`region=${encodeURIComponent("330102' or '1'='1")}`, 'region', '6-digit region code'],
    [`indicator=${encodeURIComponent("x'; drop table mart_hotline; --")}`, 'indicator', 'an indicator code'],
    [`grain=month&period=${encodeURIComponent("2026-07' union select 1 --")}`, 'period', 'at most'],
    ['limit=0', 'limit', 'at least 1'],
    ['limit=10001', 'limit', 'at most 10000'],
    ['offset=-1', 'offset', 'whole number'],
    ['region=330102&region=330106', 'region', 'expected string'],
    ['sort=region_code', 'sort', 'unknown parameter sort'],
    ['since=2026-7-1', 'since', 'a day, YYYY-MM-DD'],
    ['since=2026-02-30', 'since', 'a day that exists'],
    [`since=${encodeURIComponent("2026-07-01' or 1=1 --")}`, 'since', 'a day, YYYY-MM-DD'],
  ])('refuses %s with 400 naming the parameter', async (params, parameter, reason) => {
    const response = await get(`/api/v1/aggregates?${params}`, tokens.province);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; parameter: string; reason: string };
    expect(body.parameter).toBe(parameter);
    expect(body.reason.toLowerCase()).toContain(reason.toLowerCase());
    // Nothing was dropped or changed by the attempt.
    expect((await query('select count(*) as n from mart_hotline'))[0]!.n).toBeGreaterThan(0);
  });

  it('answers CSV with Chinese text intact, a BOM on request', async () => {
    const response = await get('/api/v1/indicators', tokens.province, { accept: 'text/csv' });
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    const text = bytes.toString('utf8');
    const [names] = (await query("select name_zh from mart_indicators where code = 'data_sharing_rate'")).map(
      (r) => r.name_zh as string,
    );
    expect(names).toBe('数据共享率');
    expect(text.split('\r\n')[0]!.split(',').slice(0, 3)).toEqual(['code', 'name_zh', 'name_en']);
    expect(text).toContain('data_sharing_rate,数据共享率,');
    const withBom = Buffer.from(
      await (await get('/api/v1/indicators?bom=true', tokens.province, { accept: 'text/csv' })).arrayBuffer(),
    );
    expect(withBom.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(withBom.subarray(3).toString('utf8')).toBe(text);
  });

  it('answers an Arrow IPC stream that apache-arrow reads back, typed', async () => {
    const path = '/api/v1/aggregates?grain=month&period=2026-07&limit=10000';
    const response = await get(path, tokens.province, { accept: 'application/vnd.apache.arrow.stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(new Uint8Array(await response.arrayBuffer()));
    const json = await rows(path, tokens.province);
    expect(table.numRows).toBe(json.length);
    expect(table.schema.fields.map((f) => f.name)).toEqual(Object.keys(json[0]!));
    expect(String(table.schema.fields.find((f) => f.name === 'value')!.type)).toBe('Float64');
    expect(String(table.schema.fields.find((f) => f.name === 'is_complete')!.type)).toBe('Bool');
    const row = table.get(0)!.toJSON() as Record<string, unknown>;
    expect(row.indicator_code).toBe(json[0]!.indicator_code);
    expect(row.region_code).toBe(json[0]!.region_code);
    expect(row.value).toBe(json[0]!.value);
    expect(new Date(row.period_start as number).toISOString().slice(0, 10)).toBe('2026-07-01');
  });

  it('refuses an Accept it cannot serve with 406', async () => {
    const response = await get('/api/v1/indicators', tokens.province, { accept: 'application/xml' });
    expect(response.status).toBe(406);
  });

  it('gives the snapshot id as ETag and 304 to If-None-Match', async () => {
    const current = (await (await get('/api/v1/snapshots/current', tokens.province)).json()) as {
      snapshot_id: string;
      data_cutoff: string;
      models: string[];
      latest_days: Record<string, string>;
      rows: MartRow[];
    };
    expect(current.data_cutoff).toBe('2026-08-14T16:00:00.000Z');
    expect(current.models).toContain('mart_indicator_values');
    expect(current.latest_days).toEqual({ hotline_case: '2026-07-03' });
    expect(current.rows.find((r) => r.grain === 'month')).toEqual(
      // The data span ends on 2026-07-03: July is the latest month, over before the cut-off.
      expect.objectContaining({ period: '2026-07', is_complete: true, counted_end: '2026-07-31' }),
    );
    const first = await get('/api/v1/aggregates?grain=year', tokens.province);
    const etag = first.headers.get('etag');
    expect(etag).toBe(`"${current.snapshot_id}"`);
    const again = await get('/api/v1/aggregates?grain=year', tokens.province, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
  });

  it('limits each token to its rate, naming when to retry', async () => {
    expect((await get('/api/v1/indicators', tokens.limited)).status).toBe(200);
    expect((await get('/api/v1/indicators', tokens.limited)).status).toBe(200);
    const limited = await get('/api/v1/indicators', tokens.limited);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another token is not affected.
    expect((await get('/api/v1/indicators', tokens.province)).status).toBe(200);
  });

  it('serves /healthz, /readyz and the OpenAPI document without a token', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect(await (await get('/readyz')).json()).toEqual({ status: 'ready', snapshot_id: expect.any(String) });
    const doc = (await (await get('/api/v1/openapi.json')).json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/indicators', '/api/v1/aggregates', '/api/v1/snapshots/current']),
    );
  });

  it('records every pull in the audit log: token id, route, query, rows, status; never a token', async () => {
    await get('/api/v1/aggregates?grain=month&period=2026-07&region=330100', tokens.hangzhou);
    await get('/api/v1/aggregates?region=330200', tokens.hangzhou);
    await get('/api/v1/aggregates');
    await audit.flush();
    const [day] = await readdir(auditDir);
    const [file] = await readdir(join(auditDir, day!));
    const text = await readFile(join(auditDir, day!, file!), 'utf8');
    for (const token of Object.values(tokens)) expect(text).not.toContain(token);
    const entries = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const hz = entries.filter((e) => e.token_id === 'hz' && e.route === '/api/v1/aggregates');
    expect(hz.slice(-2)).toEqual([
      expect.objectContaining({
        status: 200,
        rows: (await direct("grain = 'month' and period = '2026-07' and region_code = '330100'")).length,
        query: JSON.stringify({ grain: 'month', period: '2026-07', region: '330100' }),
      }),
      expect.objectContaining({ status: 403, rows: null }),
    ]);
    expect(entries.at(-1)).toEqual(expect.objectContaining({ token_id: null, status: 401, client: '127.0.0.1' }));
  });
});

describe('a snapshot the API cannot answer from', () => {
  it('answers 500 without the cause (it goes to the log), and 503 before any snapshot exists', async () => {
    const local = await tempDirs();
    const dir = await local.make();
    const path = join(dir, 'marts.duckdb');
    const errors: unknown[] = [];
    const log = { error: (o: unknown) => errors.push(o) } as unknown as Parameters<typeof buildApiApp>[0]['log'];
    const reader = new MartsSnapshots(path);
    const api = buildApiApp({ snapshots: reader, tokens: new TokenRegistry(grants, 600), regionCode: '330000', log });
    try {
      const none = await api.inject({
        url: '/api/v1/aggregates',
        headers: { authorization: `Bearer ${tokens.province}` },
      });
      expect(none.statusCode).toBe(503);
      expect((await api.inject({ url: '/readyz' })).statusCode).toBe(503);
      // A marts file of some other tool: no mart_indicator_values.
      const instance = await DuckDBInstance.create(path);
      const connection = await instance.connect();
      await connection.run(
        "create table cityhub_run_log (build_id varchar); insert into cityhub_run_log values ('b1')",
      );
      connection.closeSync();
      instance.closeSync();
      await new Promise((resolve) => setTimeout(resolve, 250)); // past the re-check interval
      const failed = await api.inject({
        url: '/api/v1/aggregates',
        headers: { authorization: `Bearer ${tokens.province}` },
      });
      expect(failed.statusCode).toBe(500);
      expect(failed.json()).toEqual({ error: 'internal', reason: 'the hub could not answer; its log says why' });
      expect(failed.body).not.toContain(dir);
      expect((errors[0] as { err: Error }).err.message).toContain('mart_indicator_values');
    } finally {
      await api.close();
      reader.close();
      await local.cleanup();
    }
  });
});

describe('MartsSnapshots', () => {
  it('serves a swapped-in file to new requests while a request holding the old one finishes on it', async () => {
    const local = await tempDirs();
    try {
      const first = await buildTestMarts(local, {
        regionCode: '330000',
        lake,
        now: new Date('2026-08-15T12:00:00+08:00'),
      });
      const second = await buildTestMarts(local, {
        regionCode: '330000',
        lake: {},
        now: new Date('2026-08-16T12:00:00+08:00'),
      });
      const reader = new MartsSnapshots(first.result.martsPath);
      const old = (await reader.acquire())!;
      await rename(second.result.martsPath, first.result.martsPath);
      await new Promise((resolve) => setTimeout(resolve, 250)); // past the re-check interval
      const fresh = (await reader.acquire())!;
      expect(fresh.info.snapshotId).not.toBe(old.info.snapshotId);
      const count = async (lease: typeof old) =>
        Number((await lease.connection.runAndReadAll('select count(*) from mart_hotline')).getRows()[0]![0]);
      expect(await count(old)).toBeGreaterThan(0);
      expect(await count(fresh)).toBe(0);
      old.release();
      fresh.release();
      reader.close();
    } finally {
      await local.cleanup();
    }
  });
});
