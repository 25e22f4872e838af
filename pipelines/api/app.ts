/**
 * The upstream API (issue 11): what provincial and national platforms pull. Every data route reads the published
 * marts snapshot only (MartsSnapshots: read-only, leased per request), authenticates a bearer token, applies its
 * region and indicator scope, and answers in JSON, CSV or Arrow by `Accept`, with the snapshot id as ETag.
 */
import { type DuckDBType, VARCHAR } from '@duckdb/node-api';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { type JsValue, toJsValue } from '../models/query.js';
import type { HubStatus } from '../ops/hub-status.js';
import type { AuditLog } from './audit.js';
import { csvBody, mediaTypes, negotiate, type ResponseFormat, type ResultSet, rowObjects } from './formats.js';
import { openApiDocument } from './openapi.js';
import { aggregatesQuery, describeParamError, indicatorsQuery } from './params.js';
import { RateLimiter } from './rate-limit.js';
import type { MartsSnapshots, SnapshotInfo, SnapshotLease } from './snapshot.js';
import { indicatorAllowed, regionAllowed, type TokenGrant, type TokenRegistry } from './tokens.js';

export interface ApiAppOptions {
  snapshots: MartsSnapshots;
  tokens: TokenRegistry;
  audit?: AuditLog;
  log?: Logger;
  /** Addresses (or CIDRs) of reverse proxies whose X-Forwarded-For names the client. */
  trustedProxies?: readonly string[];
  /** The hub's own region code (the OpenAPI description names it). */
  regionCode: string;
  /** The status of the hub process serving the API (`GET /api/v1/status`); without it that route answers 503. */
  status?: () => Promise<HubStatus>;
  /** Counts every answered request by route pattern and status (`cityhub_api_requests_total`). */
  requests?: ApiRequestCounter;
  now?: () => number;
}

/** Where the API counts its requests: by route pattern (`unmatched` for none) and HTTP status. */
export interface ApiRequestCounter {
  inc(labels: readonly [route: string, status: string]): void;
}

/** What a data route hands back to be encoded, audited and cached. */
interface Answer {
  result: ResultSet;
  /** JSON envelope fields beside `rows`. */
  meta: Record<string, JsValue>;
  /** An HTTP Link to the next page (CSV and Arrow carry no envelope). */
  next?: string;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, string>,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.reason);
  }
}

const CACHE_ENTRIES = 512;
const CACHE_BYTES = 64 * 1024 * 1024;

interface Encoded {
  body: Buffer;
  rows: number;
  headers: Record<string, string>;
}

/** The encoded answers most recently stored, up to a number of entries and of bytes (the oldest go first). */
class AnswerCache {
  private readonly entries = new Map<string, Encoded>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string): Encoded | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: Encoded): void {
    // Two requests missing at once store the same answer once; a huge page is not worth evicting many small ones.
    if (this.entries.has(key) || value.body.length > this.maxBytes / 8) return;
    this.entries.set(key, value);
    this.bytes += value.body.length;
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.body.length;
    }
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    grant?: TokenGrant;
    auditRows?: number;
  }
}

export function buildApiApp(o: ApiAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    trustProxy: o.trustedProxies && o.trustedProxies.length > 0 ? [...o.trustedProxies] : false,
    return503OnClosing: true,
  });
  const now = o.now ?? Date.now;
  const limiter = new RateLimiter(now);
  // Encoded answers of the current snapshots, by snapshot, token, URL and format: repeated pulls cost no query.
  const cache = new AnswerCache(CACHE_ENTRIES, CACHE_BYTES);

  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    if (error instanceof HttpProblem) {
      void reply.code(error.status).headers(error.headers).send(error.body);
      return;
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status === 500) {
      // The cause (a DuckDB message, a path) goes to the hub's log, not to the caller.
      o.log?.error({ err: error, route: request.routeOptions.url }, 'api request failed');
      void reply.code(500).send({ error: 'internal', reason: 'the hub could not answer; its log says why' });
      return;
    }
    void reply.code(status).send({ error: 'bad_request', reason: error.message });
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: the label's values stay as few as the routes.
    o.requests?.inc([request.routeOptions.url ?? 'unmatched', String(reply.statusCode)]);
    o.audit?.record({
      at: new Date().toISOString(),
      token_id: request.grant?.id ?? null,
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?')[0]!,
      query: JSON.stringify(request.query ?? {}),
      status: reply.statusCode,
      rows: request.auditRows ?? null,
      ms: Math.round(reply.elapsedTime),
      client: request.ip,
    });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const info = await o.snapshots.info();
    if (info === undefined) return reply.code(503).send({ status: 'not ready', reason: 'no marts snapshot yet' });
    return { status: 'ready', snapshot_id: info.snapshotId };
  });

  app.get('/api/v1/openapi.json', async () => openApiDocument(o.regionCode));

  const authenticate = (request: FastifyRequest): TokenGrant => {
    const grant = o.tokens.authenticate(request.headers.authorization);
    if (grant === undefined) {
      throw new HttpProblem(
        401,
        { error: 'unauthorized', reason: 'a valid bearer token is required (Authorization: Bearer <token>)' },
        { 'www-authenticate': 'Bearer realm="cityhub"' },
      );
    }
    request.grant = grant;
    const wait = limiter.take(grant.id, grant.requestsPerMinute);
    if (wait > 0) {
      throw new HttpProblem(
        429,
        { error: 'rate_limited', reason: `over ${grant.requestsPerMinute} requests a minute: retry in ${wait} s` },
        { 'retry-after': String(wait) },
      );
    }
    return grant;
  };

  /**
   * A data route: authenticates, validates the query (400) and the scope (403) before anything is read, then leases
   * the snapshot and answers — 304 for its ETag, from the cache when the same pull was answered on this snapshot.
   */
  const dataRoute =
    <S extends z.ZodType>(
      schema: S,
      answer: (q: z.infer<S>, grant: TokenGrant, lease: SnapshotLease, request: FastifyRequest) => Promise<Answer>,
      checkScope: (q: z.infer<S>, grant: TokenGrant) => void = () => {},
      // An answer that changes with the clock (a member's age) is made anew every time.
      cacheable = true,
    ) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const grant = authenticate(request);
      const q = parseQuery(schema, request.query);
      checkScope(q, grant);
      const format = negotiate(request.headers.accept);
      if (format === undefined) {
        throw new HttpProblem(406, {
          error: 'not_acceptable',
          reason: `Accept one of ${Object.values(mediaTypes).join(', ')}`,
        });
      }
      const lease = await o.snapshots.acquire();
      if (lease === undefined) {
        throw new HttpProblem(503, { error: 'not_ready', reason: 'no marts snapshot has been published yet' });
      }
      try {
        const etag = `"${lease.info.snapshotId}"`;
        void reply
          .header('etag', etag)
          .header('cache-control', 'private, no-cache')
          .header('vary', 'Accept, Authorization');
        if (request.headers['if-none-match'] === etag) {
          request.auditRows = 0;
          return reply.code(304).send();
        }
        const key = `${lease.info.snapshotId}\u0000${grant.id}\u0000${format}\u0000${request.url}`;
        let hit = cacheable ? cache.get(key) : undefined;
        if (hit === undefined) {
          const answered = await answer(q, grant, lease, request);
          hit = await encode(answered, format, lease.info, request.query as { bom?: string });
          if (cacheable) cache.set(key, hit);
        }
        request.auditRows = hit.rows;
        return reply.code(200).headers(hit.headers).send(hit.body);
      } finally {
        lease.release();
      }
    };

  // The hub's own status (docs/operations.md) to any valid token: upper tiers see whether a feed has stalled.
  app.get('/api/v1/status', async (request, reply) => {
    authenticate(request);
    if (o.status === undefined)
      throw new HttpProblem(503, { error: 'not_available', reason: 'this API process reports no status' });
    const status = await o.status();
    return reply.header('cache-control', 'no-store').send(status);
  });

  const forbidden = (reason: string) => new HttpProblem(403, { error: 'forbidden', reason });

  app.get(
    '/api/v1/indicators',
    dataRoute(indicatorsQuery, async (_q, grant, lease) => {
      const result = await select(lease, 'select * from mart_indicators order by code', {});
      const code = result.columns.indexOf('code');
      const visible = result.rows.filter((row) => indicatorAllowed(grant, String(row[code])));
      return { result: { ...result, rows: visible }, meta: {} };
    }),
  );

  app.get(
    '/api/v1/aggregates',
    dataRoute(
      aggregatesQuery,
      async (q, grant, lease, request) => {
        const params: Record<string, string | null> = {
          indicator: q.indicator ?? null,
          grain: q.grain ?? null,
          period: q.period ?? null,
          region: q.region ?? null,
          since: q.since ?? null,
        };
        const scope = grant.regions.map((prefix, i) => {
          params[`scope${i}`] = prefix;
          return `starts_with(region_code, $scope${i})`;
        });
        const indicators = grant.indicators.includes('*')
          ? []
          : grant.indicators.map((code, i) => {
              params[`indicator${i}`] = code;
              return `$indicator${i}`;
            });
        const sql = [
          'select * from mart_indicator_values',
          'where ($indicator is null or indicator_code = $indicator)',
          'and ($grain is null or grain = $grain)',
          'and ($period is null or period = $period)',
          'and ($region is null or region_code = $region)',
          // Periods still open, or closed on or after that day: what a pull of recent periods asks for.
          'and ($since is null or period_end >= cast($since as date))',
          `and (${scope.join(' or ')})`,
          indicators.length > 0 ? `and indicator_code in (${indicators.join(', ')})` : '',
          'order by indicator_code, grain, period, region_code',
          // One row more than the page tells whether there is a next one.
          `limit ${q.limit + 1} offset ${q.offset}`,
        ].join('\n');
        const result = await select(lease, sql, params);
        const more = result.rows.length > q.limit;
        if (more) result.rows.length = q.limit;
        const nextOffset = more ? q.offset + q.limit : null;
        const answer: Answer = { result, meta: { offset: q.offset, limit: q.limit, next_offset: nextOffset } };
        if (nextOffset !== null) answer.next = withOffset(request.url, nextOffset);
        return answer;
      },
      (q, grant) => {
        if (q.region !== undefined && !regionAllowed(grant, q.region)) {
          throw forbidden(
            `token ${grant.id} may not read region ${q.region} (its regions: ${grant.regions.join(', ')})`,
          );
        }
        if (q.indicator !== undefined && !indicatorAllowed(grant, q.indicator)) {
          throw forbidden(`token ${grant.id} may not read indicator ${q.indicator}`);
        }
      },
    ),
  );

  app.get(
    '/api/v1/snapshots/current',
    dataRoute(
      indicatorsQuery,
      async (_q, grant, lease) => {
        const latest = await select(
          lease,
          `select grain, period, period_start, period_end, is_complete, counted_end
         from int_periods
         qualify row_number() over (partition by grain order by period_start desc) = 1
         order by case grain when 'day' then 1 when 'month' then 2 when 'quarter' then 3 else 4 end`,
          {},
        );
        return { result: latest, meta: snapshotMeta(lease.info, grant, now()) };
      },
      undefined,
      false,
    ),
  );

  return app;
}

function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) {
    const { parameter, reason } = describeParamError(parsed.error);
    throw new HttpProblem(400, { error: 'bad_request', parameter, reason });
  }
  return parsed.data;
}

async function select(lease: SnapshotLease, sql: string, params: Record<string, string | null>): Promise<ResultSet> {
  const types: Record<string, DuckDBType> = {};
  for (const name of Object.keys(params)) types[name] = VARCHAR;
  const reader = await lease.connection.runAndReadAll(sql, params, types);
  const columnTypes = reader.columnTypes();
  return {
    columns: reader.columnNames(),
    types: columnTypes,
    rows: reader.getRows().map((row) => row.map((v, c) => toJsValue(v, columnTypes[c]!))),
  };
}

/**
 * The snapshot, and each member within the token's regions with its age (since it last answered a pull) and whether
 * it is stale: its last pull failed, it never answered, or it has not answered for longer than stale_after_ms.
 */
function snapshotMeta(info: SnapshotInfo, grant: TokenGrant, now: number): Record<string, JsValue> {
  return {
    snapshot_id: info.snapshotId,
    built_at: info.builtAt,
    data_cutoff: info.dataCutoff,
    models: info.models,
    latest_days: info.latestDays,
    members: info.members
      .filter((m) => regionAllowed(grant, m.region_code))
      .map((m) => {
        const ageS = m.checked_at === null ? null : Math.max(0, Math.round((now - Date.parse(m.checked_at)) / 1000));
        const stale = m.last_error !== null || ageS === null || ageS * 1000 > m.stale_after_ms;
        return { ...m, age_s: ageS, stale };
      }),
  };
}

function withOffset(url: string, offset: number): string {
  const parsed = new URL(url, 'http://hub');
  parsed.searchParams.set('offset', String(offset));
  return `${parsed.pathname}${parsed.search}`;
}

async function encode(
  answer: Answer,
  format: ResponseFormat,
  info: SnapshotInfo,
  query: { bom?: string },
): Promise<Encoded> {
  const headers: Record<string, string> = { 'content-type': mediaTypes[format] };
  if (answer.next !== undefined) headers.link = `<${answer.next}>; rel="next"`;
  const rows = answer.result.rows.length;
  if (format === 'csv') return { body: csvBody(answer.result, query.bom === 'true'), rows, headers };
  if (format === 'arrow') return { body: (await import('./arrow-body.js')).arrowBody(answer.result), rows, headers };
  const envelope = {
    snapshot_id: info.snapshotId,
    data_cutoff: info.dataCutoff,
    ...answer.meta,
    rows: rowObjects(answer.result),
  };
  return { body: Buffer.from(JSON.stringify(envelope), 'utf8'), rows, headers };
}
