/** Sensor readings on raw.sensor, in each vendor's unit and time format; alarm readings raise city events. */
import type { DevicePlan } from './catalogs.js';
import { registrationDays } from './catalogs.js';
import { unitFactors } from './codes.js';
import type { SimContext } from './context.js';
import { drawLifecycle } from './events.js';
import type { Rng } from './rng.js';
import { dayOf, dayStartMs, shanghaiIso, shanghaiLocal } from './time.js';
import type { TsFormat } from './types.js';

/** Share of readings lost on the way (completeness < 100%). */
const LOSS = 0.015;

export function formatTs(ms: number, ts: TsFormat): string | number {
  switch (ts) {
    case 'local':
      return shanghaiLocal(ms);
    case 'local_ms':
      return shanghaiLocal(ms, true);
    case 'epoch':
      return ms;
    case 'iso':
      return shanghaiIso(ms);
  }
}

/** Whether the vendor's time format carries milliseconds. */
export function hasMillis(ts: TsFormat): boolean {
  return ts === 'local_ms' || ts === 'epoch';
}

/** A reading value in the vendor's unit (4 significant digits). */
export function vendorValue(canonical: number, metric: string, unit: string): number {
  const factor = unitFactors[metric]?.[unit];
  if (factor === undefined) throw new Error(`no factor for ${metric} in ${unit}`);
  return Number((canonical / factor).toPrecision(4));
}

export function normalReading(rng: Rng, dp: Pick<DevicePlan, 'spec'>): number {
  const { base, noise, min } = dp.spec;
  return Math.max(min, base + noise * (rng.float() * 2 - 1));
}

export function sensorPayload(dp: DevicePlan, ms: number, canonical: number): Record<string, unknown> {
  const { device, spec, vendor } = dp;
  const payload: Record<string, unknown> = {
    dev: device.device_id,
    kind: device.device_type,
    metric: spec.metric,
    val: vendorValue(canonical, spec.metric, vendor.unit),
    unit: vendor.unit,
    ts: formatTs(ms, vendor.ts),
    adcode: device.region_code,
    grid: device.grid_code,
  };
  if (vendor.coords) {
    payload.lng = device.lon;
    payload.lat = device.lat;
  }
  return payload;
}

export function simulateSensors(ctx: SimContext, plans: DevicePlan[]): void {
  const { hist } = ctx;
  for (const dp of plans) {
    const { device, spec, vendor } = dp;
    const rng = ctx.rng('sensor', device.device_id);
    const millis = hasMillis(vendor.ts);
    const reg = registrationDays(device);
    const fromMs = Math.max(hist.startMs, Number.isFinite(reg.from) ? dayStartMs(reg.from) : hist.startMs);
    const toMs = Math.min(hist.endMs, Number.isFinite(reg.to) ? dayStartMs(reg.to + 1) : hist.endMs);
    const alarms = [...dp.alarms].sort((a, b) => a.atMs - b.atMs);
    let nextAlarm = 0;
    const observed = new Set<number>();
    ctx.sensorKeys.set(device.device_id, observed);

    const send = (ms: number, canonical: number) => {
      ctx.valid('sensor', device.device_id, ms + rng.int(1, 30) * 1000, sensorPayload(dp, ms, canonical));
      ctx.facts.sensor_reading.push({
        device_id: device.device_id,
        device_type: device.device_type,
        metric: spec.metric,
        region_code: device.region_code,
        observed_at_ms: ms,
      });
      observed.add(ms);
    };

    // Test readings while the device is being commissioned, before it is registered.
    for (const day of dp.commissioningDays) {
      for (const hour of [10, 14, 16]) {
        const ms = dayStartMs(day) + hour * 3_600_000 + rng.int(0, 600) * 1000;
        if (ctx.inHistory(ms)) send(ms, normalReading(rng, dp));
      }
    }

    const intervalMs = device.reporting_interval_s * 1000;
    for (let slot = fromMs + rng.int(0, device.reporting_interval_s - 1) * 1000; slot < toMs; slot += intervalMs) {
      let ms = slot + rng.int(0, 20) * 1000 + (millis ? rng.int(0, 999) : 0);
      if (ms >= toMs) ms = slot;
      if (dp.offlineDays.has(dayOf(ms))) continue;
      const alarm = nextAlarm < alarms.length && ms >= alarms[nextAlarm]!.atMs ? alarms[nextAlarm]! : undefined;
      if (!alarm && rng.chance(LOSS)) continue;
      if (alarm) while (nextAlarm < alarms.length && alarms[nextAlarm]!.atMs <= ms) nextAlarm++;
      if (!alarm || !spec.alarm || !spec.eventClass) {
        send(ms, normalReading(rng, dp));
        continue;
      }
      const [lo, hi] = spec.alarm;
      send(ms, lo + (hi - lo) * rng.float());
      const reportMs = Math.floor(ms / 1000) * 1000 + rng.int(60, 240) * 1000;
      if (reportMs >= hist.endMs) continue;
      ctx.events.push({
        source: 'sensor',
        sourceRef: device.device_id,
        eventClass: spec.eventClass,
        region: device.region_code,
        ...(device.grid_code ? { grid: device.grid_code } : {}),
        life: drawLifecycle(rng, 'sensor', reportMs, alarm.closeProb),
      });
    }
  }
}
