/**
 * Deliberately bad input: at-least-once re-sends of valid messages (dead-lettered `duplicate`) and invalid messages that
 * any normalizer following docs/feeds.md and schemas/ must reject. Invalid messages use fresh ids, so they never touch
 * the natural key of a valid record.
 */
import type { DevicePlan } from './catalogs.js';
import { unknownUnits, unknownVideoCodes } from './codes.js';
import type { SimContext } from './context.js';
import { checksumOf, resourcesInCatalog } from './dept.js';
import { makeRecord } from './dept-records.js';
import { callerName, hotlineBase, hotlineSnapshot } from './hotline.js';
import { hotlineDistricts, videoDistricts } from './layout.js';
import type { Rng } from './rng.js';
import { normalReading, sensorPayload } from './sensors.js';
import { compactDate, dayOf, shanghaiLocal } from './time.js';
import { type Feed, type Flaw, feeds } from './types.js';
import { alertPayload, camerasOf, vendorPrefix } from './video.js';

/** Share of a feed's valid messages re-sent, and of extra invalid ones (besides one of each flaw). */
const DUPLICATE_RATE = 0.004;
const EXTRA_INVALID_RATE = 0.002;
/** Oversized payloads are just above the 1 MiB limit. */
export const OVERSIZED_BYTES = Math.ceil(1.2 * 1024 * 1024);

export const flawsByFeed: Record<Feed, Flaw[]> = {
  sensor: [
    'malformed_json',
    'missing_field',
    'wrong_type',
    'unknown_region',
    'impossible_time',
    'unknown_unit',
    'oversized',
  ],
  video: ['malformed_json', 'missing_field', 'wrong_type', 'unknown_region', 'unknown_vendor_code'],
  hotline: ['malformed_json', 'missing_field', 'unknown_region', 'impossible_time'],
  event: ['malformed_json', 'missing_field', 'unknown_region', 'impossible_time'],
  dept: ['malformed_json', 'missing_field', 'unknown_region', 'impossible_time'],
};

/** A 6-digit code that looks like Zhejiang but is in no catalog. */
export function unknownRegion(ctx: SimContext): string {
  for (let n = 9999; n > 0; n--) {
    const code = `33${String(n).padStart(4, '0')}`;
    if (!ctx.has(code)) return code;
  }
  throw new Error('no free region code');
}

/** The flaws a feed's messages can have: an API serves no broken JSON (DemoOptions.hotline). */
export function flawsOf(feed: Feed, options: { hotline?: 'messages' | 'api' }): Flaw[] {
  const flaws = flawsByFeed[feed];
  return feed === 'hotline' && options.hotline === 'api' ? flaws.filter((f) => f !== 'malformed_json') : flaws;
}

export function addDuplicates(ctx: SimContext): void {
  const rng = ctx.rng('duplicates');
  for (const feed of feeds) {
    if (feed === 'hotline' && ctx.options.hotline === 'api') continue;
    const candidates = ctx.messages.filter((m) => m.kind === 'valid' && m.feed === feed && m.units > 0);
    if (candidates.length === 0) continue;
    const count = Math.max(1, Math.round(DUPLICATE_RATE * candidates.length));
    const chosen = new Set<number>();
    while (chosen.size < Math.min(count, candidates.length)) chosen.add(rng.int(0, candidates.length - 1));
    for (const i of [...chosen].sort((a, b) => a - b)) {
      const original = candidates[i]!;
      ctx.duplicate(original, original.emitMs + rng.int(1, 900) * 1000);
    }
  }
}

export function addInvalid(ctx: SimContext, devices: DevicePlan[]): void {
  const year = ctx.options.startMonth.slice(0, 4);
  const impossible = (i: number, clock: string) => (i % 2 === 0 ? `${year}-02-30 ${clock}` : `${year}-13-01 ${clock}`);
  const badRegion = unknownRegion(ctx);
  for (const feed of feeds) {
    const rng = ctx.rng('invalid', feed);
    const validCount = ctx.messages.filter((m) => m.kind === 'valid' && m.feed === feed).length;
    if (validCount === 0) continue;
    const list = [...flawsOf(feed, ctx.options)];
    const repeatable = list.filter((f) => f !== 'oversized');
    for (let k = Math.round(EXTRA_INVALID_RATE * validCount); k > 0; k--) list.push(rng.pick(repeatable));
    list.forEach((flaw, i) => {
      const ms = ctx.hist.startMs + rng.int(0, (ctx.hist.endMs - ctx.hist.startMs) / 1000 - 1) * 1000;
      const build = builders[feed];
      build(
        ctx,
        rng,
        { flaw, i, ms, badRegion, impossible: impossible(i, feed === 'dept' ? '02:00:00' : '10:00:00') },
        devices,
      );
    });
  }
}

interface Bad {
  flaw: Flaw;
  i: number;
  ms: number;
  badRegion: string;
  impossible: string;
}

type Builder = (ctx: SimContext, rng: Rng, bad: Bad, devices: DevicePlan[]) => void;

/** JSON cut off part-way (a connection dropped mid-payload). */
function truncated(payload: unknown, before?: string): string {
  const text = JSON.stringify(payload);
  const end = before ? text.indexOf(before) : text.length;
  return text.slice(0, Math.floor((end > 0 ? end : text.length) * 0.6));
}

const sensorBuilder: Builder = (ctx, rng, bad, devices) => {
  const dp = rng.pick(devices);
  let ms = bad.ms;
  while (ctx.sensorKeys.get(dp.device.device_id)?.has(ms)) ms += 1000;
  const payload = sensorPayload(dp, ms, normalReading(rng, dp));
  let key = dp.device.device_id;
  switch (bad.flaw) {
    case 'malformed_json':
      return void ctx.invalid('sensor', key, ms, bad.flaw, { text: truncated(payload) });
    case 'missing_field':
      delete payload.val;
      break;
    case 'wrong_type':
      payload.val = 'ERR';
      break;
    case 'unknown_region':
      key = `${dp.spec.idPrefix}-${bad.badRegion}-0001`;
      payload.dev = key;
      payload.adcode = bad.badRegion;
      payload.grid = `${bad.badRegion}001001001`;
      break;
    case 'impossible_time':
      payload.ts = bad.impossible;
      break;
    case 'unknown_unit':
      payload.unit = unknownUnits[dp.spec.metric] ?? 'xyz';
      break;
    case 'oversized':
      // A firmware dump in place of the value: over 1 MiB, and not a number either.
      payload.val = 'F'.repeat(OVERSIZED_BYTES);
      break;
    default:
      throw new Error(`no ${bad.flaw} sensor message`);
  }
  ctx.invalid('sensor', key, ms, bad.flaw, { payload });
};

const videoBuilder: Builder = (ctx, rng, bad) => {
  const vd = rng.pick(videoDistricts.filter((d) => ctx.has(d.region)));
  const camera = rng.pick(camerasOf(ctx, vd));
  const alarmId = `${vendorPrefix(vd.vendor)}-${vd.region}-E${String(bad.i + 1).padStart(5, '0')}`;
  const eventClass = rng.pick(vd.classes)[0];
  const payload = {
    ...alertPayload(vd, alarmId, camera, eventClass, 80, bad.ms, true),
    state: 'new',
    stateTime: bad.ms,
  } as Record<string, unknown>;
  switch (bad.flaw) {
    case 'malformed_json':
      return void ctx.invalid('video', alarmId, bad.ms, bad.flaw, { text: truncated(payload) });
    case 'missing_field':
      delete payload.cameraId;
      break;
    case 'wrong_type':
      payload.score = '80分';
      break;
    case 'unknown_region':
      payload.areaCode = bad.badRegion;
      break;
    case 'unknown_vendor_code':
      payload.eventCode = unknownVideoCodes[vd.vendor];
      break;
    default:
      throw new Error(`no ${bad.flaw} video message`);
  }
  ctx.invalid('video', alarmId, bad.ms, bad.flaw, { payload });
};

const hotlineBuilder: Builder = (ctx, rng, bad) => {
  const region = rng.weighted(hotlineDistricts.filter(([r]) => ctx.has(r)));
  const orderNo = `12345-${compactDate(dayOf(bad.ms))}E${String(bad.i + 1).padStart(3, '0')}`;
  const order = {
    base: hotlineBase(orderNo, bad.ms, '电话', '投诉', '城市管理/市容环境/暴露垃圾', region),
    deadlineMs: bad.ms + 3 * 86_400_000,
    caller: { name: callerName(rng), phone: rng.pick(ctx.phones) },
  };
  // Versioned like a valid order, so a polling connector can place it (DemoOptions.hotline `api`).
  const payload = hotlineSnapshot(order, '受理', { updateMs: bad.ms });
  switch (bad.flaw) {
    case 'malformed_json':
      // Cut before the caller block: the broken text holds no personal data.
      return void ctx.invalid('hotline', orderNo, bad.ms, bad.flaw, { text: truncated(payload, '"caller"') });
    case 'missing_field':
      delete payload.acceptTime;
      break;
    case 'unknown_region':
      payload.street = bad.badRegion;
      break;
    case 'impossible_time':
      payload.acceptTime = bad.impossible;
      break;
    default:
      throw new Error(`no ${bad.flaw} hotline message`);
  }
  ctx.invalid('hotline', orderNo, bad.ms, bad.flaw, { payload });
};

const eventBuilder: Builder = (ctx, rng, bad) => {
  const region = rng.pick(hotlineDistricts.filter(([r]) => ctx.has(r)))[0];
  const caseId = `EV-${region}-E${String(bad.i + 1).padStart(5, '0')}`;
  const payload: Record<string, unknown> = {
    caseId,
    source: 'grid',
    sourceRef: `GRID-${region}-001`,
    eventClass: '0101',
    adcode: region,
    reportTime: shanghaiLocal(bad.ms),
    deadline: shanghaiLocal(bad.ms + 72 * 3_600_000),
    status: '上报',
  };
  switch (bad.flaw) {
    case 'malformed_json':
      return void ctx.invalid('event', caseId, bad.ms, bad.flaw, { text: truncated(payload) });
    case 'missing_field':
      delete payload.eventClass;
      break;
    case 'unknown_region':
      payload.adcode = bad.badRegion;
      break;
    case 'impossible_time':
      payload.reportTime = bad.impossible;
      break;
    default:
      throw new Error(`no ${bad.flaw} event message`);
  }
  ctx.invalid('event', caseId, bad.ms, bad.flaw, { payload });
};

const deptBuilder: Builder = (ctx, rng, bad) => {
  const resource = rng.pick(resourcesInCatalog(ctx).filter((r) => !r.never));
  const day = dayOf(bad.ms);
  const deliveryId = `D-${resource.code}-E${String(bad.i + 1).padStart(3, '0')}`;
  if (bad.flaw === 'malformed_json') {
    // Not even JSON: a CSV export posted where JSON was expected. Counts as one record.
    const text = `资源编码,交付时间,记录数\r\n${resource.code},${shanghaiLocal(bad.ms)},12\r\n`;
    return void ctx.invalid('dept', resource.code, bad.ms, bad.flaw, { text });
  }
  const records = Array.from({ length: rng.int(1, 5) }, () =>
    makeRecord(rng, resource.template, { day, region: resource.region }),
  );
  const payload: Record<string, unknown> = {
    deliveryId,
    resourceCode: resource.code,
    dept: resource.dept,
    adcode: resource.region,
    deliveredAt: shanghaiLocal(bad.ms),
    file: `inbox/${resource.region}/${resource.code}-E${bad.i + 1}.csv`,
    checksum: checksumOf(records),
    records,
  };
  switch (bad.flaw) {
    case 'missing_field':
      delete payload.resourceCode;
      break;
    case 'unknown_region':
      payload.adcode = bad.badRegion;
      break;
    case 'impossible_time':
      payload.deliveredAt = bad.impossible;
      break;
    default:
      throw new Error(`no ${bad.flaw} dept message`);
  }
  // An invalid header dead-letters all of its records.
  ctx.invalid('dept', resource.code, bad.ms, bad.flaw, { payload }, records.length);
};

const builders: Record<Feed, Builder> = {
  sensor: sensorBuilder,
  video: videoBuilder,
  hotline: hotlineBuilder,
  event: eventBuilder,
  dept: deptBuilder,
};
