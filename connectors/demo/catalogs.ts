/** The demo city's reference catalogs (device registry, data-resource catalog, scenario catalog) and caller pool. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataResource, Device, Scenario } from '../../schemas/index.js';
import type { ProvidedCatalogName } from '../types.js';
import { centreOf, type DeviceTypeSpec, deviceTypes, mobilePrefixes } from './codes.js';
import type { SimContext } from './context.js';
import { templateFields } from './dept-records.js';
import { deviceGroups, resourceCatalog, type SensorVendor, scenarioCatalog } from './layout.js';
import { dateOfDay, dayOfDate } from './time.js';
import type { DemoCatalogs } from './types.js';

/** Longest registry interval: at any scale a healthy device reports at least twice a day. */
const MAX_INTERVAL_S = 43_200;

export interface DevicePlan {
  device: Device;
  spec: DeviceTypeSpec;
  vendor: SensorVendor;
  offlineDays: Set<number>;
  /** Days before installed_on with test readings. */
  commissioningDays: number[];
  alarms: { atMs: number; closeProb: number }[];
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function buildDevices(ctx: SimContext): DevicePlan[] {
  const plans: DevicePlan[] = [];
  for (const group of deviceGroups) {
    if (!ctx.has(group.region)) continue;
    const spec = deviceTypes[group.type];
    if (!spec) throw new Error(`unknown device type ${group.type}`);
    const rng = ctx.rng('devices', group.type, group.region);
    const interval = Math.min(MAX_INTERVAL_S, Math.max(60, Math.round(spec.intervalS / ctx.scale)));
    const [lon0, lat0] = centreOf(group.region);
    const groupPlans: DevicePlan[] = [];
    for (let i = 0; i < group.count; i++) {
      const applies = (devices?: number[]) => !devices || devices.includes(i);
      const installedDay = group.installed && applies(group.installed.devices) ? ctx.day(group.installed) : undefined;
      const removedDay = group.removed && applies(group.removed.devices) ? ctx.day(group.removed) : undefined;
      const device: Device = {
        device_id: `${spec.idPrefix}-${group.region}-${pad(i + 1, 4)}`,
        device_type: group.type,
        region_code: group.region,
        grid_code: `${group.region}${pad(rng.int(1, 8), 3)}${pad(rng.int(1, 12), 3)}${pad(rng.int(1, 40), 3)}`,
        reporting_interval_s: interval,
        ...(installedDay === undefined ? {} : { installed_on: dateOfDay(installedDay) }),
        ...(removedDay === undefined ? {} : { removed_on: dateOfDay(removedDay) }),
        lon: round6(lon0 + (rng.float() - 0.5) * 0.08),
        lat: round6(lat0 + (rng.float() - 0.5) * 0.06),
      };
      const offlineDays = new Set<number>();
      for (const o of group.offline ?? []) {
        if (o.device !== i) continue;
        for (let d = ctx.day({ month: o.month, day: o.fromDay }); d <= ctx.day({ month: o.month, day: o.toDay }); d++) {
          offlineDays.add(d);
        }
      }
      const commissioningDays: number[] = [];
      if (group.commissioning?.device === i && installedDay !== undefined) {
        for (let k = group.commissioning.days; k >= 1; k--) commissioningDays.push(installedDay - k);
      }
      groupPlans.push({ device, spec, vendor: group.vendor, offlineDays, commissioningDays, alarms: [] });
    }
    if (group.alarms) {
      const { months, perMonth, fromDay, toDay, closeProb } = group.alarms;
      const list = months === 'all' ? Array.from({ length: ctx.months }, (_, m) => m) : months;
      for (const month of list) {
        if (month >= ctx.months) continue;
        for (let k = 0; k < perMonth; k++) {
          const target = groupPlans[rng.int(0, groupPlans.length - 1)]!;
          const day = ctx.day({ month, day: rng.int(fromDay, Math.min(toDay, ctx.monthDays(month))) });
          target.alarms.push({ atMs: ctx.timeOfDay(rng, day, 6, 20), closeProb });
        }
      }
    }
    plans.push(...groupPlans);
  }
  return plans;
}

export function buildResources(ctx: SimContext): DataResource[] {
  return resourceCatalog
    .filter((r) => ctx.has(r.region))
    .map((r) => ({
      resource_code: r.code,
      name: r.name,
      department_code: r.dept,
      region_code: r.region,
      share_type: r.share,
      update_frequency: r.freq,
      fields: templateFields(r.template),
      ...(r.validFrom ? { valid_from: dateOfDay(ctx.day(r.validFrom)) } : {}),
      ...(r.validTo ? { valid_to: dateOfDay(ctx.day(r.validTo)) } : {}),
    }));
}

export function buildScenarios(): Scenario[] {
  return scenarioCatalog.map((s) => structuredClone(s));
}

/** The city's callers: distinct, realistic mobile numbers. */
export function makePhones(ctx: SimContext): string[] {
  const rng = ctx.rng('phones');
  const count = Math.max(60, Math.round(1500 * ctx.scale));
  const phones = new Set<string>();
  while (phones.size < count) phones.add(`${rng.pick(mobilePrefixes)}${pad(rng.int(0, 99_999_999), 8)}`);
  return [...phones];
}

/** Day numbers of a device's registration bounds (open ends infinite). */
export function registrationDays(device: Device): { from: number; to: number } {
  return {
    from: device.installed_on ? dayOfDate(device.installed_on) : Number.NEGATIVE_INFINITY,
    to: device.removed_on ? dayOfDate(device.removed_on) : Number.POSITIVE_INFINITY,
  };
}

/** Hands the city's catalogs to the hub as files: `<dir>/<name>.json`, a JSON array of entries per catalog. */
export async function writeCatalogFiles(
  catalogs: Pick<DemoCatalogs, ProvidedCatalogName>,
  dir: string,
  names: readonly ProvidedCatalogName[],
): Promise<void> {
  for (const name of names) await writeFile(join(dir, `${name}.json`), `${JSON.stringify(catalogs[name], null, 1)}\n`);
}
