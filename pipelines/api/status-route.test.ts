/**
 * `GET /api/v1/status` on the tier API (any valid token; the hub process's own status) and the request counter the
 * API feeds into /metrics: over real HTTP, with the hub's own HubOps, its exposition read back by the strict reader.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../../test/support/prometheus-text.js';
import { HubOps } from '../ops/hub-ops.js';
import { hubStatusSchema } from '../ops/hub-status.js';
import { buildApiApp } from './app.js';
import { MartsSnapshots } from './snapshot.js';
import { TokenRegistry, tokenHash } from './tokens.js';

const token = 'status-reader-token-0123456789abcdef';
const ops = new HubOps({ role: 'api', regionCode: '330000', log: pino({ level: 'silent' }), buildsMarts: false });
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  app = buildApiApp({
    // No marts file: the status needs none.
    snapshots: new MartsSnapshots(join(import.meta.dirname, 'no-such-dir', 'marts.duckdb')),
    tokens: new TokenRegistry([{ id: 'zj', sha256: tokenHash(token), regions: ['33'], indicators: ['*'] }], 600),
    regionCode: '330000',
    status: () => ops.status(),
    requests: ops.countApiRequests(),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
});

describe('GET /api/v1/status on the tier API', () => {
  it('answers 401 without a token, the hub status to a valid one, and counts both by route and status', async () => {
    const denied = await fetch(`${base}/api/v1/status`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="cityhub"');
    const wrong = await fetch(`${base}/api/v1/status`, { headers: { authorization: 'Bearer not-a-token-we-know' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${base}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const status = hubStatusSchema.parse(await ok.json());
    expect(status).toMatchObject({ role: 'api', region_code: '330000', state: 'starting', pipeline: null });
    expect(status.process.pid).toBe(process.pid);
    // A URL no route matches is counted under one label value, whatever the URL: the series stay bounded.
    expect((await fetch(`${base}/api/v1/nothing/${Math.random()}`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/nothing/else`)).status).toBe(404);

    const metrics = parsePrometheusText(await ops.metrics());
    const requests = (route: string, status: string) =>
      sampleValue(metrics, 'cityhub_api_requests_total', { route, status });
    expect(metrics.get('cityhub_api_requests_total')?.type).toBe('counter');
    expect(requests('/api/v1/status', '401')).toBe(2);
    expect(requests('/api/v1/status', '200')).toBe(1);
    expect(requests('unmatched', '404')).toBe(2);
    expect(metrics.get('cityhub_api_requests_total')?.samples).toHaveLength(3);
  });

  it('answers 503 in an API process that reports no status', async () => {
    const bare = buildApiApp({
      snapshots: new MartsSnapshots(join(import.meta.dirname, 'no-such-dir', 'marts.duckdb')),
      tokens: new TokenRegistry([{ id: 'zj', sha256: tokenHash(token), regions: ['33'], indicators: ['*'] }], 600),
      regionCode: '330000',
    });
    try {
      const answer = await bare.inject({ url: '/api/v1/status', headers: { authorization: `Bearer ${token}` } });
      expect(answer.statusCode).toBe(503);
    } finally {
      await bare.close();
    }
  });
});
