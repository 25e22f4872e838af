import { z } from 'zod';
import { code, regionCode, utcTimestamp } from './common.js';

export const hotlineChannel = z.enum(['phone', 'web', 'app', 'wechat', 'other']);
export const hotlineRequestType = z.enum(['consult', 'help', 'complaint', 'report', 'suggestion', 'thanks', 'other']);
export const hotlineStatus = z.enum(['received', 'dispatched', 'handling', 'closed']);
export const hotlineSatisfaction = z.enum(['satisfied', 'basically_satisfied', 'unsatisfied']);

/**
 * One version of a 12345 work order: its state as the case system last changed it. Each (status, updated_at) is a
 * record of its own, so an order updated again without a new status (a closed order's follow-up visit, a second
 * update while handling) is kept, and staging keeps the newest version per (case_id, status). The caller's phone and
 * name never appear: only a keyed hash (HMAC-SHA256) of the phone, with the id of its key.
 */
export const hotlineCase = z
  .object({
    case_id: code,
    received_at: utcTimestamp,
    channel: hotlineChannel,
    request_type: hotlineRequestType,
    category: z
      .string()
      .min(1)
      .max(128)
      .describe('3-level content category joined by "/", e.g. 城市管理/市容环境/暴露垃圾'),
    region_code: regionCode,
    department_code: z.string().min(1).max(32).optional(),
    status: hotlineStatus,
    updated_at: utcTimestamp
      .optional()
      .describe(
        'when the source system last changed the order: the version time (absent: one version per status, the first landed)',
      ),
    responded_at: utcTimestamp.optional(),
    closed_at: utcTimestamp.optional(),
    deadline_at: utcTimestamp.optional(),
    contacted: z.boolean().optional().describe('follow-up visit reached the caller'),
    resolved: z.boolean().optional(),
    satisfaction: hotlineSatisfaction.optional(),
    caller_hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'expected an HMAC-SHA256 hex digest')
      .describe('HMAC-SHA256 of the caller phone with the hub key (privacy.hmac_key)'),
    caller_key_id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/)
      .describe('id of the key that made caller_hash (privacy.key_id): hashes under different keys never compare'),
  })
  .strict()
  .meta({
    id: 'hotline_case',
    version: 3,
    natural_key: ['case_id', 'status', 'updated_at'],
    event_time: 'received_at',
  });

export type HotlineCase = z.infer<typeof hotlineCase>;
