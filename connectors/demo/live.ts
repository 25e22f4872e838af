/**
 * Live traffic after the history: realistic valid records stamped within [fromMs, toMs), ~200 messages/s at scale 1.
 * Slot k (one every `step` ms) is a pure function of (seed, k): consecutive windows never repeat an id or a natural
 * key, and splitting a window differently yields the same messages. Not part of the ground truth.
 */
import { centreOf, deviceTypes, hotlineCategories, hotlineChannels, hotlineTypes, vendorCodeFor } from './codes.js';
import { checksumOf } from './dept.js';
import { liveDeliveryFile } from './dept-files.js';
import { makeRecord } from './dept-records.js';
import { callerName, hotlineBase, hotlineSnapshot } from './hotline.js';
import { gridClasses, gridDistricts, hotlineDistricts, resourceCatalog, videoDistricts } from './layout.js';
import { hash32, Rng } from './rng.js';
import { vendorValue } from './sensors.js';
import { compactDate, dayOf, shanghaiIso, shanghaiLocal } from './time.js';
import type { DemoCity, DeptFile, Feed, LiveDevice, RawMessage } from './types.js';

/** Messages per second at scale 1. */
export const LIVE_RATE_PER_S = 200;

const feedWeights: readonly (readonly [Feed, number])[] = [
  ['sensor', 80],
  ['video', 10],
  ['hotline', 5],
  ['event', 3],
  ['dept', 2],
];

type Slot = (rng: Rng, k: string, ms: number) => RawMessage | DeptFile;

/** The live messages of the window; with `dept: 'files'` the departmental deliveries are files (`liveItems`). */
export function* liveMessages(city: DemoCity, fromMs: number, toMs: number): Generator<RawMessage> {
  for (const item of liveItems(city, fromMs, toMs)) if ('value' in item) yield item;
}

/** Live messages and, with `dept: 'files'`, delivery files, in slot order. */
export function* liveItems(city: DemoCity, fromMs: number, toMs: number): Generator<RawMessage | DeptFile> {
  const step = Math.max(1, Math.round(1000 / (LIVE_RATE_PER_S * city.options.scale)));
  const seed = hash32('cityhub-demo-live', city.options.seed);
  const slots = liveSlots(city);
  const available = feedWeights.filter(([feed]) => slots[feed]);
  if (available.length === 0) return;
  for (let k = Math.ceil(fromMs / step); k * step < toMs; k++) {
    const rng = new Rng(hash32(seed, k));
    const feed = rng.weighted(available);
    // Ids carry the slot in base 36: unique, and never a long run of digits.
    yield slots[feed]!(rng, k.toString(36).toUpperCase(), k * step);
  }
}

function liveSlots(city: DemoCity): Partial<Record<Feed, Slot>> {
  const has = new Set(city.catalogs.regions.map((r) => r.code));
  const devices = city.plan.liveDevices;
  const video = videoDistricts.filter((v) => has.has(v.region));
  const hotline = hotlineDistricts.filter(([r]) => has.has(r));
  const grid = gridDistricts.filter((r) => has.has(r));
  const liveResources = resourceCatalog.filter((r) => {
    const entry = city.catalogs.data_resources.find((d) => d.resource_code === r.code);
    return entry && !r.never && (r.freq === 'realtime' || r.freq === 'daily') && !entry.valid_to;
  });
  const phones = city.plan.phones;
  const slots: Partial<Record<Feed, Slot>> = {};
  if (devices.length > 0) slots.sensor = (rng, _k, ms) => sensorMessage(rng.pick(devices), rng, ms);
  if (video.length > 0) {
    slots.video = (rng, k, ms) => {
      const vd = rng.pick(video);
      const [lon, lat] = centreOf(vd.region);
      const alarmId = `${vd.vendor === 'hik' ? 'HIK' : 'DH'}-${vd.region}-L${k}`;
      const payload = {
        alarmId,
        cameraId: `CAM-${vd.region}-${String(rng.int(1, vd.cameras)).padStart(4, '0')}`,
        vendor: vd.vendor,
        eventCode: vendorCodeFor(vd.vendor, rng.weighted(vd.classes)),
        score: Math.round((55 + rng.float() * 44.9) * 10) / 10,
        time: ms,
        areaCode: vd.region,
        lng: Math.round((lon + (rng.float() - 0.5) * 0.06) * 1e6) / 1e6,
        lat: Math.round((lat + (rng.float() - 0.5) * 0.05) * 1e6) / 1e6,
        picUrl: `https://img.example.cn/${vd.vendor}/${vd.region}/${alarmId}.jpg`,
        state: 'new',
        stateTime: ms,
      };
      return { feed: 'video', key: alarmId, value: JSON.stringify(payload) };
    };
  }
  if (hotline.length > 0 && phones.length > 0) {
    slots.hotline = (rng, k, ms) => {
      const orderNo = `12345-${compactDate(dayOf(ms))}L${k}`;
      const category = rng.weighted(hotlineCategories.map((c) => [c[0], c[1]] as const));
      const type = rng.weighted(hotlineTypes);
      const order = {
        base: hotlineBase(orderNo, ms, rng.weighted(hotlineChannels), type, category, rng.weighted(hotline)),
        deadlineMs: ms + 3 * 86_400_000,
        caller: { name: callerName(rng), phone: rng.pick(phones) },
      };
      return { feed: 'hotline', key: orderNo, value: JSON.stringify(hotlineSnapshot(order, '受理', { updateMs: ms })) };
    };
  }
  if (grid.length > 0) {
    slots.event = (rng, k, ms) => {
      const region = rng.pick(grid);
      const caseId = `EV-${region}-L${k}`;
      const payload = {
        caseId,
        source: 'grid',
        sourceRef: `GRID-${region}-${String(rng.int(1, 24)).padStart(3, '0')}`,
        eventClass: rng.weighted(gridClasses),
        adcode: region,
        reportTime: shanghaiLocal(ms),
        deadline: shanghaiLocal(ms + 72 * 3_600_000),
        status: '上报',
      };
      return { feed: 'event', key: caseId, value: JSON.stringify(payload) };
    };
  }
  if (liveResources.length > 0) {
    slots.dept = (rng, k, ms) => {
      const r = rng.pick(liveResources);
      const adcode = r.deliveryRegion && has.has(r.deliveryRegion) ? r.deliveryRegion : r.region;
      const day = dayOf(ms);
      const records = Array.from({ length: rng.int(1, 3) }, () =>
        makeRecord(rng, r.template, { day, region: r.region }),
      );
      if (city.options.dept === 'files') return liveDeliveryFile(city.options.seed, r, ms, records, k);
      const deliveryId = `D-${r.code}-L${k}`;
      const payload = {
        deliveryId,
        resourceCode: r.code,
        dept: r.dept,
        adcode,
        deliveredAt: shanghaiLocal(ms),
        file: `api/${r.code}/L${k}.json`,
        checksum: checksumOf(records),
        records,
      };
      return { feed: 'dept', key: r.code, value: JSON.stringify(payload) };
    };
  }
  return slots;
}

function sensorMessage(d: LiveDevice, rng: Rng, ms: number): RawMessage {
  const spec = deviceTypes[d.device_type]!;
  const canonical = Math.max(spec.min, spec.base + spec.noise * (rng.float() * 2 - 1));
  const payload: Record<string, unknown> = {
    dev: d.device_id,
    kind: d.device_type,
    metric: d.metric,
    val: vendorValue(canonical, d.metric, d.unit),
    unit: d.unit,
    // Live readings keep their milliseconds in every format, so two slots never share a natural key.
    ts: d.ts === 'epoch' ? ms : d.ts === 'iso' ? shanghaiIso(ms, true) : shanghaiLocal(ms, true),
    adcode: d.region_code,
    grid: d.grid_code,
  };
  if (d.lon !== undefined && d.lat !== undefined) {
    payload.lng = d.lon;
    payload.lat = d.lat;
  }
  return { feed: 'sensor', key: d.device_id, value: JSON.stringify(payload) };
}
