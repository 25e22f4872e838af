/**
 * Ground truth of `mart_sensor_health` — the total rows (device_type 'all') and one row per registry device type —
 * from the readings the simulator plans as valid and the device registry it hands over (never from the lake or SQL),
 * implementing docs/indicators.md "Sensor health". The demo configures no alarm thresholds, so every alarm column is 0.
 */
import type { Device } from '../../schemas/index.js';
import { registrationDays } from './catalogs.js';
import {
  ALL,
  type CountedPeriod,
  DayFacts,
  type Group,
  type MartGrain,
  periodDates,
  periodRegionCell,
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
  period_start: string;
  period_end: string;
  is_complete: boolean;
  data_cutoff: string;
  region_code: string;
  region_level: string;
  device_type: string;
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

// Day-fact columns (the readings' side).
const ONLINE = 0;
const RECEIVED = 1;
const COUNTED = 2;
const UNREGISTERED = 3;

/** Expected readings of a registered device-day: greatest(1, floor(86400 / reporting_interval_s)). */
export function expectedPerDay(reportingIntervalS: number): number {
  return Math.max(1, Math.floor(86_400 / reportingIntervalS));
}

const typeGroup = (deviceType: string): Group => ({ breakdown: 'device_type', value: deviceType });

/** One device's readings of one day: how many, and the readings' own region and type (the least, as SQL's min). */
interface ReadingDay {
  n: number;
  region: string;
  type: string;
}

function readingDays(city: DemoCity): Map<string, Map<number, ReadingDay>> {
  // Each (device_id, metric, observed_at) once.
  const seen = new Set<string>();
  const byDevice = new Map<string, Map<number, ReadingDay>>();
  for (const r of city.plan.facts.sensor_reading) {
    const key = `${r.device_id}\u0000${r.metric}\u0000${r.observed_at_ms}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let days = byDevice.get(r.device_id);
    if (!days) {
      days = new Map();
      byDevice.set(r.device_id, days);
    }
    const day = dayOf(r.observed_at_ms);
    const cell = days.get(day);
    if (!cell) days.set(day, { n: 1, region: r.region_code, type: r.device_type });
    else {
      cell.n++;
      if (r.region_code < cell.region) cell.region = r.region_code;
      if (r.device_type < cell.type) cell.type = r.device_type;
    }
  }
  return byDevice;
}

/** The readings' side: per day, device region and group (the total and the device type). */
function readingFacts(city: DemoCity): DayFacts {
  const registry = new Map(city.catalogs.devices.map((d) => [d.device_id, d]));
  const facts = new DayFacts(4);
  const add = DayFacts.add;
  for (const [deviceId, days] of readingDays(city)) {
    const device = registry.get(deviceId);
    const reg = device ? registrationDays(device) : undefined;
    for (const [day, { n, region, type }] of days) {
      if (device && reg && reg.from <= day && day <= reg.to) {
        const cells = facts.cells(day, device.region_code, [ALL, typeGroup(device.device_type)]);
        add(cells, ONLINE);
        add(cells, RECEIVED, n);
        add(cells, COUNTED, Math.min(n, expectedPerDay(device.reporting_interval_s)));
      } else {
        // Not registered that day: counts only here, by the registry's region and type when the device is in it.
        const cells = facts.cells(day, device?.region_code ?? region, [ALL, typeGroup(device?.device_type ?? type)]);
        add(cells, UNREGISTERED, n);
      }
    }
  }
  return facts;
}

/** The registry's side of one (period, region, group): devices and device-days. */
interface Registered {
  /** Devices registered on at least one day of the whole period: they give a device type its row. */
  periodDevices: number;
  /** Devices registered on at least one counted day. */
  devices: number;
  days: number;
  expected: number;
}

const noneRegistered = (): Registered => ({ periodDevices: 0, devices: 0, days: 0, expected: 0 });

function registeredIn(
  p: CountedPeriod,
  devices: readonly Device[],
  rollUp: RollUp,
): Map<string, Map<string, Registered>> {
  const out = new Map<string, Map<string, Registered>>(); // region → device type ('all' too) → counts
  for (const device of devices) {
    const reg = registrationDays(device);
    if (reg.from > p.end || reg.to < p.start) continue;
    const days = Math.max(0, Math.min(p.countedEnd, reg.to) - Math.max(p.start, reg.from) + 1);
    for (const region of rollUp.of(device.region_code)) {
      let byType = out.get(region.code);
      if (!byType) {
        byType = new Map();
        out.set(region.code, byType);
      }
      for (const type of [ALL.value, device.device_type]) {
        let into = byType.get(type);
        if (!into) {
          into = noneRegistered();
          byType.set(type, into);
        }
        into.periodDevices++;
        if (days > 0) into.devices++;
        into.days += days;
        into.expected += days * expectedPerDay(device.reporting_interval_s);
      }
    }
  }
  return out;
}

export function sensorHealthTruth(city: DemoCity, frame: TruthFrame): SensorHealthRow[] {
  const facts = readingFacts(city);
  const rollUp = new RollUp(frame.scope);
  const rows: SensorHealthRow[] = [];
  for (const p of spanPeriods(frame, ['day', 'month', 'quarter', 'year'])) {
    const sums = facts.sum(p, frame.scope, rollUp);
    const registered = registeredIn(p, city.catalogs.devices, rollUp);
    for (const region of frame.scope) {
      const byType = registered.get(region.code) ?? new Map<string, Registered>();
      // Keyed by type, the total as 'all': no registry type may be named 'all' (the build rejects it).
      const readings = new Map([...sums.get(region.code)!.values()].map(({ group, n }) => [group.value, n]));
      // The total always; a device type where devices of it within the region are registered on a day of P.
      const types = [
        ALL.value,
        ...[...byType].filter(([t, r]) => t !== ALL.value && r.periodDevices > 0).map(([t]) => t),
      ];
      for (const type of types) {
        const n = readings.get(type) ?? new Array<number>(facts.width).fill(0);
        rows.push(sensorRow(p, frame, region, type, byType.get(type) ?? noneRegistered(), n));
      }
    }
  }
  return rows;
}

function sensorRow(
  p: CountedPeriod,
  frame: TruthFrame,
  region: { code: string; level: string },
  deviceType: string,
  registered: Registered,
  n: number[],
): SensorHealthRow {
  return {
    ...periodRegionCell(frame, p, region),
    ...periodDates(p),
    device_type: deviceType,
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
