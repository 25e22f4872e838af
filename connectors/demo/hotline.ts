/** 12345 hotline work orders on raw.hotline: Chinese enums, a caller with a clear phone, snapshots per state. */
import { givenNames, hotlineCategories, hotlineChannels, hotlineDepartments, hotlineTypes, surnames } from './codes.js';
import type { SimContext } from './context.js';
import { drawLifecycle } from './events.js';
import { hotlineDistricts, hotlinePerDay } from './layout.js';
import { type Rng, WeightedTable } from './rng.js';
import { compactDate, DAY_MS, dayStartMs, shanghaiLocal } from './time.js';

const MIN = 60_000;

const stateEn: Record<string, string> = { 受理: 'received', 派单: 'dispatched', 办理中: 'handling', 办结: 'closed' };

const hourWeights = new WeightedTable(
  Array.from({ length: 24 }, (_, h) => [h, h < 7 ? 0.3 : h < 9 ? 5 : h < 18 ? 10 : h < 22 ? 5 : 1] as const),
);
const categoryTable = new WeightedTable(hotlineCategories.map((c) => [c, c[1]] as const));
const channelTable = new WeightedTable(hotlineChannels);
const typeTable = new WeightedTable(hotlineTypes);
const satisfactionTable = new WeightedTable([
  ['满意', 80],
  ['基本满意', 12],
  ['不满意', 8],
] as const);

export function callerName(rng: Rng): string {
  return rng.pick(surnames) + rng.pick(givenNames);
}

export interface HotlineOrder {
  base: Record<string, unknown>;
  deadlineMs: number;
  caller: { name: string; phone: string };
}

/** The fields every snapshot of an order carries, in the documented order. */
export function hotlineBase(
  orderNo: string,
  acceptMs: number,
  channel: string,
  type: string,
  category: string,
  region: string,
): Record<string, unknown> {
  const top = category.split('/')[0]!;
  return {
    orderNo,
    acceptTime: shanghaiLocal(acceptMs),
    channel,
    type,
    category,
    street: region,
    dept: `${hotlineDepartments[top] ?? 'QT'}-${region}`,
  };
}

/**
 * One version of an order as the case system sends it. `times.updateMs` is when the system last changed the order
 * (`updateTime`, the version time a mapping keeps as updated_at): the moment the snapshot is sent.
 */
export function hotlineSnapshot(
  order: HotlineOrder,
  state: string,
  times: { updateMs?: number; replyMs?: number; finishMs?: number },
  visit?: Record<string, unknown>,
): Record<string, unknown> {
  const payload: Record<string, unknown> = { ...order.base, state };
  if (times.updateMs !== undefined) payload.updateTime = shanghaiLocal(times.updateMs);
  if (times.replyMs !== undefined) payload.replyTime = shanghaiLocal(times.replyMs);
  if (times.finishMs !== undefined) payload.finishTime = shanghaiLocal(times.finishMs);
  payload.deadline = shanghaiLocal(order.deadlineMs);
  if (visit) payload.visit = visit;
  payload.caller = { ...order.caller };
  return payload;
}

export function simulateHotline(ctx: SimContext): void {
  const available = hotlineDistricts.filter(([r]) => ctx.has(r));
  if (available.length === 0) return;
  const districts = new WeightedTable(available);
  const { hist } = ctx;
  const rng = ctx.rng('hotline');
  for (let day = hist.startDay; day < hist.endDay; day++) {
    const n = rng.poisson(hotlinePerDay * ctx.scale);
    const times = Array.from(
      { length: n },
      () => dayStartMs(day) + rng.weighted(hourWeights) * 3_600_000 + rng.int(0, 3599) * 1000,
    ).sort((a, b) => a - b);
    times.forEach((acceptMs, i) => {
      const orderNo = `12345-${compactDate(day)}${String(i + 1).padStart(4, '0')}`;
      const region = rng.weighted(districts);
      const [category, , eventClass] = rng.weighted(categoryTable);
      const type = rng.weighted(typeTable);
      const order: HotlineOrder = {
        base: hotlineBase(orderNo, acceptMs, rng.weighted(channelTable), type, category, region),
        deadlineMs: acceptMs + (type === '咨询' ? 1 : 3) * DAY_MS,
        caller: { name: callerName(rng), phone: rng.pick(ctx.phones) },
      };
      const send = (state: string, emitMs: number, times: { replyMs?: number; finishMs?: number }, visit?: object) => {
        const snapshot = hotlineSnapshot(
          order,
          state,
          { updateMs: emitMs, ...times },
          visit as Record<string, unknown>,
        );
        ctx.valid('hotline', orderNo, emitMs, snapshot);
        ctx.facts.hotline_case.push({
          case_id: orderNo,
          status: stateEn[state]!,
          category,
          region_code: region,
          received_at_ms: acceptMs,
        });
      };
      send('受理', acceptMs + rng.int(30, 120) * 1000, {});
      const replyMs = acceptMs + (rng.chance(0.85) ? rng.int(5, 110) : rng.int(121, 600)) * MIN;
      const outcome = rng.float();
      if (outcome < 0.8) {
        if (rng.chance(0.3)) send('派单', acceptMs + rng.int(3, 9) * MIN, {});
        const finishMs = replyMs + rng.int(60, 5 * 24 * 60) * MIN;
        const contacted = rng.chance(0.96);
        const visit = contacted
          ? {
              contacted,
              resolved: rng.chance(0.9),
              satisfaction: rng.weighted(satisfactionTable),
            }
          : { contacted };
        send('办结', finishMs + rng.int(60, 48 * 60) * MIN, { replyMs, finishMs }, visit);
      } else if (outcome < 0.93) {
        send('办理中', replyMs + rng.int(1, 30) * MIN, { replyMs });
      }
      if (eventClass && rng.chance(0.25)) {
        const reportMs = acceptMs + rng.int(20, 90) * MIN;
        if (reportMs < hist.endMs) {
          ctx.events.push({
            source: 'hotline',
            sourceRef: orderNo,
            eventClass,
            region,
            life: drawLifecycle(rng, 'hotline', reportMs, 0.8),
          });
        }
      }
    });
  }
}
