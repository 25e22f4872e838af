/**
 * 12345 hotline work orders (mappings/demo/hotline.yaml) as they are on the bus, masked by the connector: the
 * caller's phone a keyed-hash token, the name `[name]`. Each order sent in four versions (受理 → 派单 → 办理中 → 办结),
 * 2,000 versions an hour up to the run. Invalid ones: a yes/no as text, an unknown street, a line cut short, an accept
 * time before 2000 or days ahead.
 */
import { type HashKey, hashToken } from '../../pipelines/privacy/keyed-hash.js';
import { type GenerateOptions, implausibleTime, type PayloadSet, shanghaiLocal, timeline } from './payload-set.js';
import { recordPayloads } from './record-payloads.js';
import { districts, UNKNOWN_REGION } from './regions.js';

/** The hub key the masker hashed the phones with; the hotline normalizer gets the same (salt, key id). */
export const HOTLINE_KEY: HashKey = { id: '1', key: 'bench-hmac-key' };

const STATES = ['受理', '派单', '办理中', '办结'] as const;
const CHANNELS = ['电话', '网站', 'APP', '微信'] as const;
const TYPES = ['投诉', '咨询', '求助', '建议'] as const;
const CATEGORIES = ['城市管理/市容环境/暴露垃圾', '城市管理/街面秩序/占道经营', '交通运输/道路交通/乱停车'] as const;

export function hotlinePayloads(count: number, { seed, now }: GenerateOptions): PayloadSet {
  const timeOf = timeline(count, 2_000, now);
  // 2,000 callers, hashed once: repeat callers share a token, as they share a caller_hash.
  const callers = Array.from({ length: 2_000 }, (_, c) => hashToken(HOTLINE_KEY, `138${String(c).padStart(8, '0')}`));
  return recordPayloads(count, seed, 520, (i, kind, random) => {
    const order = i >> 2;
    const version = i & 3;
    const region = districts[order % districts.length]!;
    const orderNo = `12345-${String(order).padStart(10, '0')}`;
    const accepted = kind === 'time' ? implausibleTime(random, now) : timeOf(i & ~3);
    const updated = kind === 'time' ? accepted : timeOf(i);
    const text = JSON.stringify({
      orderNo,
      acceptTime: shanghaiLocal(accepted),
      channel: CHANNELS[order % CHANNELS.length],
      type: TYPES[order % TYPES.length],
      category: CATEGORIES[order % CATEGORIES.length],
      street: kind === 'region' ? UNKNOWN_REGION : region,
      dept: `CG-${region}`,
      state: STATES[version],
      updateTime: shanghaiLocal(updated),
      ...(version >= 2 ? { replyTime: shanghaiLocal(updated) } : {}),
      ...(version === 3 ? { finishTime: shanghaiLocal(updated) } : {}),
      deadline: shanghaiLocal(accepted + 3 * 86_400_000),
      // A closed order's follow-up visit (an invalid one carries it whatever its state, `contacted` as text).
      ...(version === 3 || kind === 'schema'
        ? { visit: { contacted: kind === 'schema' ? 'true' : true, resolved: random() < 0.8, satisfaction: '满意' } }
        : {}),
      caller: { name: '[name]', phone: callers[Math.floor(random() * callers.length)] },
    });
    return { value: text, key: orderNo };
  });
}
