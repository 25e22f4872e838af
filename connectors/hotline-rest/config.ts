import { z } from 'zod';
import { hotlineCommonKeys } from '../hotline-cursor/config.js';

const paramName = z.string().min(1).max(64);
const utcOffset = z.string().regex(/^[+-]\d{2}:\d{2}$/, 'expected a UTC offset like +08:00');

/** Page numbers: page `first_page`, then the next, with the poll's cursor, until a page is shorter than page_size. */
const pageNumbers = z
  .object({
    type: z.literal('page_number'),
    page_param: paramName.default('page').describe('query parameter of the page number'),
    first_page: z.number().int().min(0).default(1).describe('number of the first page'),
  })
  .strict();

/** A link to the next page in the body (absolute, or relative to base_url), until the body has none. */
const nextLink = z
  .object({
    type: z.literal('next_link'),
    next_path: z
      .string()
      .min(1)
      .default('next')
      .describe('dot path of the next page link in the JSON body (e.g. links.next); absent, null or "" = last page'),
  })
  .strict();

/**
 * A 12345 work-order REST API polled with an incremental cursor: every order updated after the last one taken, by
 * (update time, order id). See docs/connectors.md "hotline-rest".
 */
export const hotlineRestConnectorConfig = z
  .object({
    ...hotlineCommonKeys,
    kind: z.literal('hotline-rest'),
    base_url: z.url({ protocol: /^https?$/ }).describe('the API root, e.g. https://12345.example.gov.cn/api'),
    path: z.string().default('/').describe('path of the work-order list below base_url, e.g. /v1/orders'),
    query: z
      .object({
        updated_since: paramName.default('updated_since').describe('parameter carrying the cursor update time'),
        after_id: paramName
          .default('after_id')
          .describe(
            'parameter carrying the cursor order id: the API returns updated_at > since OR (= since AND id > after_id)',
          ),
        page_size: paramName.default('page_size').describe('parameter carrying the page size'),
      })
      .strict()
      .prefault({})
      .describe('names of the query parameters the API reads'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string())
      .default({})
      .describe(
        'request headers, e.g. { Authorization: "Bearer ${HOTLINE_TOKEN}" } (secrets from the environment; never logged)',
      ),
    page_size: z.number().int().min(1).max(10_000).default(500).describe('orders asked for per page'),
    pagination: z
      .discriminatedUnion('type', [pageNumbers, nextLink])
      .prefault({ type: 'page_number' })
      .describe('how the API pages: page numbers or a next link in the body'),
    records_path: z
      .string()
      .default('data')
      .describe('dot path of the array of orders in the JSON body; "" = the body is the array'),
    fields: z
      .object({
        order_id: z.string().min(1).default('orderNo').describe('dot path of the order id in an order'),
        updated_at: z.string().min(1).default('updateTime').describe('dot path of the update time in an order'),
      })
      .strict()
      .prefault({})
      .describe('where the cursor fields are in each order'),
    numeric_order_ids: z.boolean().default(false).describe('the API orders ids as numbers (9 before 10), not as text'),
    source_utc_offset: utcOffset
      .default('+08:00')
      .describe('zone of update times written without one (the API compares them itself; this only orders them)'),
    request_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .describe('a request not answered within this is abandoned and retried'),
  })
  .strict();

export type HotlineRestConnectorConfig = z.infer<typeof hotlineRestConnectorConfig>;
