/**
 * Departmental deliveries, on (or off) each resource's cycle: one raw.dept message per delivered file, or (`dept:
 * 'files'`) the file itself, for a dept-files connector (dept-files.ts).
 */
import { createHash } from 'node:crypto';
import type { SimContext } from './context.js';
import { deliveryFile } from './dept-files.js';
import { brokenRow, invalidRecord, makeRecord } from './dept-records.js';
import { type ResourceLayout, resourceCatalog } from './layout.js';
import type { Rng } from './rng.js';
import { compactDate, dateOfDay, dayOf, dayStartMs, shanghaiLocal, weekdayOf } from './time.js';

const HOUR = 3_600_000;

/** Records per delivery at scale 1, by update cycle. */
const recordsPerDelivery: Record<ResourceLayout['freq'], number> = {
  realtime: 6,
  daily: 15,
  weekly: 40,
  monthly: 120,
  quarterly: 250,
  yearly: 300,
};

interface Planned {
  /** Id suffix: the day, week, month, quarter or year the delivery is for. */
  stamp: string;
  ms: number;
  /** Day the delivery covers (for record contents). */
  day: number;
}

export function resourcesInCatalog(ctx: SimContext): ResourceLayout[] {
  return resourceCatalog.filter((r) => ctx.has(r.region));
}

function schedule(ctx: SimContext, r: ResourceLayout, rng: Rng): Planned[] {
  const { hist } = ctx;
  const from = Math.max(hist.startDay, r.validFrom ? ctx.day(r.validFrom) : hist.startDay);
  const to = Math.min(hist.endDay - 1, r.validTo ? ctx.day(r.validTo) : hist.endDay - 1);
  const out: Planned[] = [];
  const at = (day: number, fromHour: number, toHour: number) => ctx.timeOfDay(rng, day, fromHour, toHour);
  switch (r.freq) {
    case 'realtime':
      for (let day = from; day <= to; day++) {
        if (rng.chance(r.missingProb ?? 0)) continue;
        // As files, an API's records arrive as one export a day (a file every six hours would be 4× the files).
        for (const hour of ctx.options.dept === 'files' ? [0] : [0, 6, 12, 18]) {
          out.push({
            stamp: `${compactDate(day)}${String(hour).padStart(2, '0')}00`,
            ms: dayStartMs(day) + hour * HOUR + rng.int(300, 1500) * 1000,
            day,
          });
        }
      }
      break;
    case 'daily':
      for (let day = from; day <= to; day++) {
        const roll = rng.float();
        const missing = r.missingProb ?? 0;
        if (roll < missing) continue;
        if (roll < missing + (r.lateProb ?? 0)) {
          if (day + 1 < hist.endDay) out.push({ stamp: compactDate(day), ms: at(day + 1, 9, 11), day });
        } else {
          out.push({ stamp: compactDate(day), ms: at(day, 1, 3), day });
        }
      }
      break;
    case 'weekly': {
      let friday = from + ((4 - weekdayOf(from) + 7) % 7);
      for (; friday <= to; friday += 7) {
        if (rng.chance(r.lateProb ?? 0)) {
          if (friday + 3 < hist.endDay)
            out.push({ stamp: compactDate(friday), ms: at(friday + 3, 9, 10), day: friday });
        } else {
          out.push({ stamp: compactDate(friday), ms: at(friday, 16, 18), day: friday });
        }
      }
      if (r.deliverAfterExpiry && friday < hist.endDay) {
        out.push({ stamp: compactDate(friday), ms: at(friday, 16, 18), day: friday });
      }
      break;
    }
    case 'monthly':
      for (let m = 0; m < ctx.months; m++) {
        if (r.skipMonths?.includes(m)) continue;
        const start = hist.monthStarts[m]!;
        const stamp = dateOfDay(start).slice(0, 7).replace('-', '');
        if (r.lateMonths?.includes(m)) {
          const day = hist.monthStarts[m + 1]! + rng.int(1, 3);
          if (day < hist.endDay) out.push({ stamp, ms: at(day, 9, 12), day: start });
          continue;
        }
        const day = Math.min(start + (r.dayOfMonth ?? 20) - 1 + rng.int(0, 2), hist.monthStarts[m + 1]! - 1);
        if (day >= from && day <= to) out.push({ stamp, ms: at(day, 9, 17), day });
      }
      break;
    case 'quarterly':
    case 'yearly':
      for (const md of r.at ?? []) {
        if (md.month >= ctx.months) continue;
        const day = ctx.day(md);
        const iso = dateOfDay(day);
        const stamp =
          r.freq === 'yearly'
            ? iso.slice(0, 4)
            : `${iso.slice(0, 4)}Q${Math.floor((Number(iso.slice(5, 7)) - 1) / 3) + 1}`;
        out.push({ stamp, ms: at(day, 9, 17), day });
      }
      break;
  }
  return out;
}

export function checksumOf(records: unknown[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(records)).digest('hex')}`;
}

export function simulateDept(ctx: SimContext): void {
  const ids = new Set<string>();
  const asFiles = ctx.options.dept === 'files';
  for (const r of resourcesInCatalog(ctx)) {
    if (r.never) continue;
    const rng = ctx.rng('dept', r.code);
    const adcode = r.deliveryRegion && ctx.has(r.deliveryRegion) ? r.deliveryRegion : r.region;
    for (const planned of schedule(ctx, r, rng)) {
      const month = ctx.monthIndexOf(dayOf(planned.ms));
      const count =
        r.emptyMonth === month
          ? 0
          : Math.max(1, Math.round(recordsPerDelivery[r.freq] * ctx.scale * (0.6 + 0.8 * rng.float())));
      const allInvalid = r.allInvalidMonth === month;
      let valid = 0;
      const records: Record<string, string | number>[] = [];
      for (let i = 0; i < count; i++) {
        if (allInvalid || rng.chance(r.invalidRate ?? 0)) {
          // A file has a cell for every column: its invalid rows miss a required value or name an impossible date.
          records.push(
            asFiles
              ? brokenRow(rng, r.template, { day: planned.day, region: r.region })
              : invalidRecord(rng, r.template),
          );
          continue;
        }
        const record = makeRecord(rng, r.template, { day: planned.day, region: r.region });
        // Now and then a field left blank: still a valid record (at least one non-empty value).
        if (rng.chance(0.04)) record[Object.keys(record)[0]!] = '';
        records.push(record);
        valid++;
      }
      const deliveryId = `D-${r.code}-${planned.stamp}`;
      if (ids.has(deliveryId)) throw new Error(`duplicate delivery id ${deliveryId}`);
      ids.add(deliveryId);
      if (asFiles) {
        // The dept-files connector takes department and region from the catalog: no relayed adcode in a file.
        const file = deliveryFile(ctx, r, planned.ms, records, valid);
        ctx.deptFiles.push(file);
        ctx.facts.dept_delivery.push({
          delivery_id: deliveryId,
          resource_code: r.code,
          region_code: r.region,
          delivered_at_ms: planned.ms,
          record_count: file.flaw ? 0 : count,
          valid_count: valid,
        });
        continue;
      }
      const payload = {
        deliveryId,
        resourceCode: r.code,
        dept: r.dept,
        adcode,
        deliveredAt: shanghaiLocal(planned.ms),
        file:
          r.freq === 'realtime'
            ? `api/${r.code}/${planned.stamp}.json`
            : `inbox/${adcode}/${r.code}-${planned.stamp}.csv`,
        checksum: checksumOf(records),
        records,
      };
      ctx.valid('dept', r.code, planned.ms + rng.int(1, 30) * 1000, payload, count, valid);
      ctx.facts.dept_delivery.push({
        delivery_id: deliveryId,
        resource_code: r.code,
        region_code: adcode,
        delivered_at_ms: planned.ms,
        record_count: count,
        valid_count: valid,
      });
    }
  }
}
