import { keyedHash, parseHashToken } from '../../privacy/keyed-hash.js';
import { codeTable, lookup, optional, utc } from './fields.js';
import type { MapOutcome, MappingContext, SourceMapping } from './types.js';

const channels = codeTable({ 电话: 'phone', 网站: 'web', APP: 'app', 微信: 'wechat', 其他: 'other' });
const requestTypes = codeTable({
  咨询: 'consult',
  求助: 'help',
  投诉: 'complaint',
  举报: 'report',
  建议: 'suggestion',
  感谢: 'thanks',
  其他: 'other',
});
const states = codeTable({ 受理: 'received', 派单: 'dispatched', 办理中: 'handling', 办结: 'closed' });
const satisfactions = codeTable({
  满意: 'satisfied',
  基本满意: 'basically_satisfied',
  不满意: 'unsatisfied',
});

/**
 * The caller's keyed hash and its key id. The masker replaced the phone with a hash token before the bus; a phone
 * still in clear (a payload that reached the bus some other way) is hashed here with the hub's current key.
 */
function callerHash(phone: unknown, context: MappingContext): { caller_hash?: string; caller_key_id?: string } {
  const token = parseHashToken(phone);
  if (token) return { caller_hash: token.hash, caller_key_id: token.keyId };
  if ((typeof phone === 'string' && phone.length > 0) || typeof phone === 'number') {
    return {
      caller_hash: keyedHash({ id: context.keyId, key: context.salt }, String(phone)),
      caller_key_id: context.keyId,
    };
  }
  return {};
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export const hotlineMapping: SourceMapping = {
  feed: 'hotline',
  personal: true,
  fieldSources: {
    case_id: 'orderNo',
    received_at: 'acceptTime',
    channel: 'channel',
    request_type: 'type',
    category: 'category',
    region_code: 'street',
    department_code: 'dept',
    status: 'state',
    responded_at: 'replyTime',
    closed_at: 'finishTime',
    deadline_at: 'deadline',
    contacted: 'visit.contacted',
    resolved: 'visit.resolved',
    satisfaction: 'visit.satisfaction',
    caller_hash: 'caller.phone',
    caller_key_id: 'caller.phone',
  },
  map(p, context): MapOutcome {
    const visit = record(p.visit);
    const phone = record(p.caller).phone;
    return {
      records: 1,
      rejections: [],
      rows: [
        {
          dataset: 'hotline_case',
          row: {
            case_id: p.orderNo,
            received_at: utc(p.acceptTime, 'acceptTime'),
            channel: lookup(channels, p.channel),
            request_type: lookup(requestTypes, p.type),
            category: p.category,
            region_code: p.street,
            department_code: optional(p.dept),
            status: lookup(states, p.state),
            responded_at: utc(p.replyTime, 'replyTime'),
            closed_at: utc(p.finishTime, 'finishTime'),
            deadline_at: utc(p.deadline, 'deadline'),
            contacted: optional(visit.contacted),
            resolved: optional(visit.resolved),
            satisfaction: lookup(satisfactions, optional(visit.satisfaction)),
            ...callerHash(phone, context),
          },
        },
      ],
    };
  },
};
