/** The OpenAPI 3.1 description of the upstream API, served at /api/v1/openapi.json. */
import { jsonSchemaOf } from '../../schemas/json-schema.js';
import { hubStatusSchema } from '../ops/hub-status.js';
import { grains, MAX_PAGE } from './params.js';

const problem = {
  type: 'object',
  required: ['error', 'reason'],
  properties: { error: { type: 'string' }, reason: { type: 'string' }, parameter: { type: 'string' } },
};

const formats = {
  'application/json': { schema: { type: 'object' } },
  'text/csv': { schema: { type: 'string' } },
  'application/vnd.apache.arrow.stream': { schema: { type: 'string', format: 'binary' } },
};

const responses = (ok: string) => ({
  200: {
    description: ok,
    headers: { ETag: { description: 'the snapshot id', schema: { type: 'string' } } },
    content: formats,
  },
  304: { description: 'If-None-Match names the current snapshot: nothing changed' },
  400: {
    description: 'a parameter is malformed (the reason names it)',
    content: { 'application/json': { schema: problem } },
  },
  401: { description: 'no valid bearer token', content: { 'application/json': { schema: problem } } },
  403: {
    description: 'outside the token scope (regions, indicators)',
    content: { 'application/json': { schema: problem } },
  },
  406: { description: 'Accept names no format served', content: { 'application/json': { schema: problem } } },
  429: { description: 'over the token rate limit (Retry-After)', content: { 'application/json': { schema: problem } } },
  503: { description: 'no marts snapshot published yet', content: { 'application/json': { schema: problem } } },
});

const bom = {
  name: 'bom',
  in: 'query',
  description: 'CSV only: start with a UTF-8 byte order mark (for Excel)',
  schema: { type: 'string', enum: ['true', 'false'], default: 'false' },
};

export function openApiDocument(regionCode: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'cityhub tier API',
      version: '1',
      description:
        `Aggregates of the cityhub of region ${regionCode} for upper-tier platforms: the indicator catalog and every ` +
        'indicator value with its numerator and denominator (recompute roll-ups from those, never average rates). ' +
        'Reads the published marts snapshot only. JSON by default; CSV or Arrow IPC stream by Accept.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/indicators': {
        get: {
          summary: 'The indicator catalog (mart_indicators) the token may read',
          parameters: [bom],
          responses: responses('one row per indicator'),
        },
      },
      '/api/v1/aggregates': {
        get: {
          summary: 'Indicator values (mart_indicator_values) within the token scope, sorted, paged',
          parameters: [
            { name: 'indicator', in: 'query', schema: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } },
            { name: 'grain', in: 'query', schema: { type: 'string', enum: [...grains] } },
            {
              name: 'period',
              in: 'query',
              description: 'with grain: YYYY-MM-DD (day), YYYY-MM (month), YYYY-Qn (quarter), YYYY (year)',
              schema: { type: 'string' },
            },
            {
              name: 'region',
              in: 'query',
              description: 'a 6-digit region code',
              schema: { type: 'string', pattern: '^\\d{6}$' },
            },
            {
              name: 'since',
              in: 'query',
              description: 'only periods ending on or after this day (YYYY-MM-DD): open periods and recent ones',
              schema: { type: 'string', format: 'date' },
            },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1000 } },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
            bom,
          ],
          responses: responses(
            'rows ordered by indicator_code, grain, period, region_code; next page in next_offset and Link',
          ),
        },
      },
      '/api/v1/snapshots/current': {
        get: {
          summary:
            'The published snapshot: id, built at, data cut-off, marts, latest day per dataset, latest period per grain',
          parameters: [bom],
          responses: responses('the snapshot and its latest periods'),
        },
      },
      '/api/v1/status': {
        get: {
          summary:
            "The hub process's own status (docs/operations.md): connectors with state and last error, pipeline, records per feed, bus lag, last marts build, federation members, dead letters of the last hour, problems",
          responses: {
            200: {
              description: 'the status, taken at the request',
              content: { 'application/json': { schema: jsonSchemaOf(hubStatusSchema) } },
            },
            401: { description: 'no valid bearer token', content: { 'application/json': { schema: problem } } },
            429: {
              description: 'over the token rate limit (Retry-After)',
              content: { 'application/json': { schema: problem } },
            },
            503: {
              description: 'this API process reports no status',
              content: { 'application/json': { schema: problem } },
            },
          },
        },
      },
      '/healthz': { get: { summary: 'the process is up', security: [], responses: { 200: { description: 'up' } } } },
      '/readyz': {
        get: {
          summary: 'a snapshot is published',
          security: [],
          responses: { 200: { description: 'ready' }, 503: { description: 'no snapshot yet' } },
        },
      },
    },
  };
}
