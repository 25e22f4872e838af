/** City events (城市事件): lifecycles, and their snapshots on raw.event. */
import type { EventSpec, Lifecycle, SimContext, SourceKind } from './context.js';
import { gridClasses, gridDistricts, gridPerDay } from './layout.js';
import type { Rng } from './rng.js';
import { shanghaiLocal } from './time.js';

const MIN = 60_000;

/** Minutes each step takes after the previous one (registered, dispatched, handled, verified, closed), and the deadline. */
const profiles: Record<SourceKind, { steps: readonly (readonly [number, number])[]; deadlineHours: number }> = {
  sensor: {
    steps: [
      [3, 10],
      [3, 15],
      [40, 240],
      [10, 45],
      [5, 30],
    ],
    deadlineHours: 6,
  },
  video: {
    steps: [
      [5, 30],
      [10, 60],
      [60, 1440],
      [20, 180],
      [10, 60],
    ],
    deadlineHours: 48,
  },
  grid: {
    steps: [
      [5, 40],
      [10, 90],
      [60, 2880],
      [20, 240],
      [10, 90],
    ],
    deadlineHours: 72,
  },
  hotline: {
    steps: [
      [10, 60],
      [30, 120],
      [120, 2880],
      [60, 300],
      [30, 120],
    ],
    deadlineHours: 96,
  },
  other: {
    steps: [
      [10, 60],
      [30, 180],
      [120, 2880],
      [60, 300],
      [30, 120],
    ],
    deadlineHours: 120,
  },
};

export const eventStatusCn = ['上报', '立案', '派遣', '处置', '核查', '结案'] as const;
export const eventStatusEn = ['reported', 'registered', 'dispatched', 'handled', 'verified', 'closed'] as const;
const timeFields = ['reportTime', 'registerTime', 'dispatchTime', 'handleTime', 'verifyTime', 'closeTime'] as const;

/** Draws a lifecycle: closed with probability closeProb, otherwise stuck at some step or cancelled after registration. */
export function drawLifecycle(rng: Rng, source: SourceKind, reportMs: number, closeProb: number): Lifecycle {
  const profile = profiles[source];
  const times = [reportMs];
  for (const [lo, hi] of profile.steps)
    times.push(times[times.length - 1]! + rng.int(lo, hi) * MIN + rng.int(0, 59) * 1000);
  const deadlineMs = reportMs + profile.deadlineHours * 3_600_000;
  if (rng.chance(closeProb)) return { times, final: 5, deadlineMs, swap: rng.chance(0.03) };
  if (rng.chance(0.35)) {
    return {
      times: times.slice(0, 2),
      final: 'cancelled',
      cancelMs: times[1]! + rng.int(10, 240) * MIN,
      deadlineMs,
      swap: false,
    };
  }
  const final = rng.int(0, 4);
  return { times: times.slice(0, final + 1), final, deadlineMs, swap: false };
}

/** Grid inspectors' and other manual reports. */
export function simulateGridEvents(ctx: SimContext): void {
  for (const region of gridDistricts) {
    if (!ctx.has(region)) continue;
    const rng = ctx.rng('grid', region);
    for (let day = ctx.hist.startDay; day < ctx.hist.endDay; day++) {
      const n = rng.poisson(gridPerDay * ctx.scale);
      for (let i = 0; i < n; i++) {
        const reportMs = ctx.timeOfDay(rng, day, 8, 18);
        const inspector = rng.int(1, 24);
        ctx.events.push({
          source: 'grid',
          sourceRef: `GRID-${region}-${String(inspector).padStart(3, '0')}`,
          eventClass: rng.weighted(gridClasses),
          region,
          grid: `${region}${String(rng.int(1, 6)).padStart(3, '0')}${String(rng.int(1, 9)).padStart(3, '0')}${String(inspector).padStart(3, '0')}`,
          life: drawLifecycle(rng, 'grid', reportMs, 0.85),
        });
      }
      // Now and then a case from another channel (the 数字城管 supervision center).
      if (rng.chance(0.04 * ctx.scale)) {
        const reportMs = ctx.timeOfDay(rng, day, 9, 17);
        ctx.events.push({
          source: 'other',
          sourceRef: `DCS-${region}-${day}`,
          eventClass: '0503',
          region,
          life: drawLifecycle(rng, 'other', reportMs, 0.7),
        });
      }
    }
  }
}

/** Assigns case ids in report order and plans every snapshot message. */
export function materializeEvents(ctx: SimContext): void {
  const specs = [...ctx.events].sort(
    (a, b) => a.life.times[0]! - b.life.times[0]! || cmp(a.source, b.source) || cmp(a.sourceRef, b.sourceRef),
  );
  const counters = new Map<string, number>();
  for (const spec of specs) {
    const n = (counters.get(spec.region) ?? 0) + 1;
    counters.set(spec.region, n);
    const caseId = `EV-${spec.region}-${String(n).padStart(6, '0')}`;
    const rng = ctx.rng('event', caseId);
    const { life } = spec;
    const reached = life.final === 'cancelled' ? 1 : life.final;
    const emit: number[] = life.times.map((t) => t + rng.int(5, 90) * 1000);
    if (life.swap && reached === 5) {
      const verified = emit[4]!;
      emit[4] = emit[5]!;
      emit[5] = verified;
    }
    for (let i = 0; i <= reached; i++) snapshot(ctx, spec, caseId, i, emit[i]!, false);
    if (life.final === 'cancelled') snapshot(ctx, spec, caseId, 1, life.cancelMs! + rng.int(5, 90) * 1000, true);
  }
}

function snapshot(ctx: SimContext, spec: EventSpec, caseId: string, step: number, emitMs: number, cancelled: boolean) {
  const { life } = spec;
  const payload: Record<string, unknown> = {
    caseId,
    source: spec.source,
    sourceRef: spec.sourceRef,
    eventClass: spec.eventClass,
    adcode: spec.region,
  };
  if (spec.grid) payload.gridCode = spec.grid;
  for (let i = 0; i <= step; i++) payload[timeFields[i]!] = shanghaiLocal(life.times[i]!);
  payload.deadline = shanghaiLocal(life.deadlineMs);
  payload.status = cancelled ? '作废' : eventStatusCn[step];
  ctx.valid('event', caseId, emitMs, payload);
  ctx.facts.city_event.push({
    event_id: caseId,
    status: cancelled ? 'cancelled' : eventStatusEn[step]!,
    source_kind: spec.source,
    event_class: spec.eventClass,
    region_code: spec.region,
    reported_at_ms: life.times[0]!,
    closed_at_ms: !cancelled && step === 5 ? life.times[5]! : null,
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
