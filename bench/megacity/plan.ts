/**
 * The megacity plan: what a generated lake holds at a given scale, computed in plain arithmetic, independently of
 * the SQL that writes it (the generator's test compares the two). Scale 1 is a year of a Beijing-sized city:
 * 24.195M 12345 cases (Beijing's 2024 volume), about 100M sensor readings, 1M video alerts, 1M city events and about
 * 5,100 departmental deliveries with their records. `days` sets the span at that daily rate (365 = a year).
 */
import { createHash } from 'node:crypto';
import {
  deviceTypes,
  type PlannedDevice,
  type PlannedResource,
  planDevices,
  planResources,
  resourceMix,
} from './catalogs.js';

export interface MegacityOptions {
  /** 1 = a megacity year's volume (per day: the yearly volume / 365). */
  scale: number;
  /** Days generated, from startDate (Asia/Shanghai calendar days). */
  days: number;
  /** First day, YYYY-MM-DD (default 2025-01-01). */
  startDate?: string;
  seed?: number;
  /** Bus partitions of each raw topic (default 4, the config's default). */
  partitions?: number;
}

export interface MegacityPlan {
  scale: number;
  days: number;
  startDate: string;
  seed: number;
  partitions: number;
  /** The bus generation tag in the file names (12 characters). */
  generation: string;
  /** Epoch ms of 00:00 Asia/Shanghai of the first day, and of the day after the last (the data cut-off). */
  startMs: number;
  cutoffMs: number;
  casesPerDay: number;
  alertsPerDay: number;
  eventsPerDay: number;
  devices: PlannedDevice[];
  resources: PlannedResource[];
  /** Distinct records (natural keys) the lake must hold: the versions and duplicates come on top. */
  expected: {
    hotlineCases: number;
    videoAlerts: number;
    cityEvents: number;
    sensorReadings: number;
    /** Registered device-days (installed_on ≤ day ≤ removed_on) and those with a reading. */
    deviceDaysRegistered: number;
    deviceDaysOnline: number;
    deliveries: number;
  };
}

export const yearly = {
  hotlineCases: 24_195_000,
  videoAlerts: 1_000_000,
  cityEvents: 1_000_000,
} as const;

const dayMs = 86_400_000;

export function dayDate(startDate: string, day: number): Date {
  return new Date(Date.parse(`${startDate}T00:00:00Z`) + day * dayMs);
}

/** The sensor rule shared with the SQL: a device is offline on a day when this holds. */
export function isOfflineDay(deviceIndex: number, day: number, seed: number): boolean {
  return (deviceIndex * 7 + day * 3 + seed) % 20 === 0;
}

/** Slots k in [0, slots) dropped by the rule (i + 5d + 3k + seed) % 50 = 0 (3 × 17 ≡ 1 mod 50). */
export function droppedSlots(deviceIndex: number, day: number, seed: number, slots: number): number {
  const c = (deviceIndex + day * 5 + seed) % 50;
  const k0 = (((50 - c) % 50) * 17) % 50;
  return k0 < slots ? Math.floor((slots - 1 - k0) / 50) + 1 : 0;
}

/** Whether resource r has a delivery scheduled on a day (shared with the SQL). */
export function isScheduled(r: PlannedResource, date: Date): boolean {
  const dom = date.getUTCDate();
  const month = date.getUTCMonth() + 1;
  const isodow = date.getUTCDay() === 0 ? 7 : date.getUTCDay();
  const due = (r.index % 28) + 1;
  switch (r.frequency) {
    case 'daily':
      return true;
    case 'weekly':
      return isodow === (r.index % 7) + 1;
    case 'monthly':
      return dom === due;
    case 'quarterly':
      return month % 3 === 2 && dom === due;
    case 'yearly':
      return month === (r.index % 12) + 1 && dom === due;
    case 'not_shared':
      return false;
  }
}

export const isMissed = (r: number, day: number, seed: number) => (r * 7 + day * 13 + seed) % 25 === 0;
export const isRedelivered = (r: number, day: number, seed: number) => (r * 5 + day * 7 + seed) % 100 === 0;
/** A resource delivering at 23:30 Asia/Shanghai (its re-delivery an hour later falls on the next day). */
export const deliversLate = (r: number) => r % 5 === 0;

export function makePlan(o: MegacityOptions): MegacityPlan {
  if (!(o.scale > 0)) throw new Error(`--scale must be > 0, got ${o.scale}`);
  if (!Number.isInteger(o.days) || o.days < 1) throw new Error(`--days must be a positive integer, got ${o.days}`);
  const startDate = o.startDate ?? '2025-01-01';
  const seed = o.seed ?? 1;
  const partitions = o.partitions ?? 4;
  const startMs = Date.parse(`${startDate}T00:00:00+08:00`);
  const perDay = (n: number) => Math.max(1, Math.round((n * o.scale) / 365));
  const devices = planDevices(o.scale, o.days);
  const resources = planResources(o.scale);
  let sensorReadings = 0;
  let deviceDaysRegistered = 0;
  let deviceDaysOnline = 0;
  for (const device of devices) {
    const slots = 86_400 / deviceTypes[device.typeIndex]!.intervalS;
    const from = device.installedDay ?? 0;
    const to = device.removedDay ?? o.days - 1;
    for (let day = from; day <= to; day++) {
      if (!device.unregistered) deviceDaysRegistered++;
      if (isOfflineDay(device.index, day, seed)) continue;
      if (!device.unregistered) deviceDaysOnline++;
      sensorReadings += slots - droppedSlots(device.index, day, seed, slots);
    }
  }
  let deliveries = 0;
  for (let day = 0; day < o.days; day++) {
    const date = dayDate(startDate, day);
    for (const r of resources) {
      if (!isScheduled(r, date) || isMissed(r.index, day, seed)) continue;
      deliveries++;
      // The re-delivery an hour later exists only if that hour is before the cut-off.
      if (isRedelivered(r.index, day, seed) && !(deliversLate(r.index) && day === o.days - 1)) deliveries++;
    }
  }
  const casesPerDay = perDay(yearly.hotlineCases);
  const alertsPerDay = perDay(yearly.videoAlerts);
  const eventsPerDay = perDay(yearly.cityEvents);
  return {
    scale: o.scale,
    days: o.days,
    startDate,
    seed,
    partitions,
    generation: createHash('sha256').update(`megacity-${seed}`).digest('hex').slice(0, 12),
    startMs,
    cutoffMs: startMs + o.days * dayMs,
    casesPerDay,
    alertsPerDay,
    eventsPerDay,
    devices,
    resources,
    expected: {
      hotlineCases: casesPerDay * o.days,
      videoAlerts: alertsPerDay * o.days,
      cityEvents: eventsPerDay * o.days,
      sensorReadings,
      deviceDaysRegistered,
      deviceDaysOnline,
      deliveries,
    },
  };
}

/** Every frequency of the catalog mix, for reports. */
export const frequencies = resourceMix.map((m) => m.frequency);
