/**
 * Ground truth of `mart_sensor_health` (device_type 'all'), from the readings the simulator plans as valid and the
 * device registry it hands over — never from the lake or SQL — implementing docs/indicators.md "Sensor health".
 * The demo configures no alarm thresholds, so every alarm column is 0.
 */
import { registrationDays } from './catalogs.js';
import {
  type CountedPeriod,
  DayFacts,
  type MartGrain,
  RollUp,
  rate,
  spanPeriods,
  type TruthFrame,
} from './ground-truth-frame.js';
import { dayOf } from './time.js';
import type { DemoCity } from './types.js';

export interface SensorHealthRow {
  grain: MartGrain;
  period: string;
  is_complete: boolean;
  data_cutoff: string;
  region_code: string;
  region_level: string;
  device_type: 'all';
  registered_devices: number;
  registered_device_days: number;
  online_device_days: number;
  online_rate: number | null;
  readings_expected: number;
  readings_received: number;
  readings_counted: number;
  completeness_rate: number | null;
  alarm_readings: number;
  alarm_readings_level_1: number;
  alarm_readings_level_2: number;
  alarm_readings_level_3: number;
  alarm_device_days: number;
  unregistered_readings: number;
}

const ONLINE = 0;
const RECEIVED = 1;
const COUNTED = 2;
const UNREGISTERED = 3;

/** Expected readings of a registered device-day: greatest(1, floor(86400 / reporting_interval_s)). */
export function expectedPerDay(reportingIntervalS: number): number {
  return Math.max(1, Math.floor(86_400 / reportingIntervalS));
}

export function sensorHealthTruth(city: DemoCity, frame: TruthFrame): SensorHealthRow[] {
  const registry = new Map(city.catalogs.devices.map((d) => [d.device_id, d]));
  // Readings per device and day, each (device_id, metric, observed_at) once.
  const seen = new Set<string>();
  const deviceDays = new Map<string, Map<number, { n: number; region: string }>>();
  for (const r of city.plan.facts.sensor_reading) {
    const key = `${r.device_id}\u0000${r.metric}\u0000${r.observed_at_ms}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let days = deviceDays.get(r.device_id);
    if (!days) {
      days = new Map();
      deviceDays.set(r.device_id, days);
    }
    const day = dayOf(r.observed_at_ms);
    const cell = days.get(day);
    if (cell) cell.n++;
    else days.set(day, { n: 1, region: r.region_code });
  }
  const facts = new DayFacts(4);
  for (const [deviceId, days] of deviceDays) {
    const device = registry.get(deviceId);
    const reg = device ? registrationDays(device) : undefined;
    for (const [day, { n, region }] of days) {
      if (device && reg && reg.from <= day && day <= reg.to) {
        facts.add(day, device.region_code, ONLINE);
        facts.add(day, device.region_code, RECEIVED, n);
        facts.add(day, device.region_code, COUNTED, Math.min(n, expectedPerDay(device.reporting_interval_s)));
      } else {
        // Not registered that day: counts only here, by the registry's region when the device is in it.
        facts.add(day, device?.region_code ?? region, UNREGISTERED, n);
      }
    }
  }
  const rollUp = new RollUp(frame.scope);
  const rows: SensorHealthRow[] = [];
  for (const p of spanPeriods(frame, ['day', 'month', 'quarter', 'year'])) {
    const sums = facts.sum(p, frame.scope, rollUp);
    // The registry's side: registered device-days over P's counted days.
    const registered = new Map(frame.scope.map((r) => [r.code, { devices: 0, days: 0, expected: 0 }]));
    for (const device of city.catalogs.devices) {
      const reg = registrationDays(device);
      const days = Math.min(p.countedEnd, reg.to) - Math.max(p.start, reg.from) + 1;
      if (!(days > 0)) continue;
      for (const region of rollUp.of(device.region_code)) {
        const into = registered.get(region.code)!;
        into.devices++;
        into.days += days;
        into.expected += days * expectedPerDay(device.reporting_interval_s);
      }
    }
    for (const region of frame.scope) {
      rows.push(sensorRow(p, frame, region, registered.get(region.code)!, sums.get(region.code)!));
    }
  }
  return rows;
}

function sensorRow(
  p: CountedPeriod,
  frame: TruthFrame,
  region: { code: string; level: string },
  registered: { devices: number; days: number; expected: number },
  n: number[],
): SensorHealthRow {
  return {
    grain: p.grain,
    period: p.period,
    is_complete: p.isComplete,
    data_cutoff: frame.data_cutoff,
    region_code: region.code,
    region_level: region.level,
    device_type: 'all',
    registered_devices: registered.devices,
    registered_device_days: registered.days,
    online_device_days: n[ONLINE]!,
    online_rate: rate(n[ONLINE]!, registered.days),
    readings_expected: registered.expected,
    readings_received: n[RECEIVED]!,
    readings_counted: n[COUNTED]!,
    completeness_rate: rate(n[COUNTED]!, registered.expected),
    alarm_readings: 0,
    alarm_readings_level_1: 0,
    alarm_readings_level_2: 0,
    alarm_readings_level_3: 0,
    alarm_device_days: 0,
    unregistered_readings: n[UNREGISTERED]!,
  };
}
