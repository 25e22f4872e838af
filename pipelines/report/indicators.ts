import type { Region } from '../../schemas/index.js';
import { queryMarts } from '../models/index.js';

function percent(rate: unknown): string {
  return typeof rate === 'number' ? `${(rate * 100).toFixed(1)}%` : '  n/a';
}

/** `2026-12-01T16:00:00.000Z` → `2026-12-02 00:00`: the cut-off as Asia/Shanghai wall time. */
function shanghaiTime(iso: string): string {
  return new Date(Date.parse(iso) + 8 * 3600 * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

/** The month (YYYY-MM) of the last day counted before the cut-off. */
function lastCountedMonth(cutoffIso: string): string {
  return new Date(Date.parse(cutoffIso) + 8 * 3600 * 1000 - 1).toISOString().slice(0, 7);
}

/**
 * Prints the two headline indicators for the hub's region and its direct children: the latest complete month
 * first, then the month still running at the data cut-off (labelled partial, with the cut-off) when it has counted
 * days. A running month is never shown as if it were over.
 */
export async function printIndicators(
  martsPath: string,
  regionCode: string,
  regions: readonly Region[],
  out: (line: string) => void,
): Promise<void> {
  const names = new Map(regions.map((r) => [r.code, r.name]));
  const shown = new Set([regionCode, ...regions.filter((r) => r.parent_code === regionCode).map((r) => r.code)]);
  const { rows } = await queryMarts({
    martsPath,
    sql: `select s.period, s.is_complete, s.data_cutoff, s.region_code, s.sharing_rate, s.shared_count,
                 s.required_count, c.coverage_rate, c.covered_count, c.applicable_count
          from mart_data_sharing s
          join mart_scenario_coverage c using (grain, period, region_code)
          where s.grain = 'month'
          order by s.period desc, s.region_code`,
  });
  if (rows.length === 0) {
    out('indicators: no data landed yet');
    return;
  }
  const cutoff = String(rows[0]![2]);
  const complete = rows.find((r) => r[1] === true)?.[0];
  const running = lastCountedMonth(cutoff);
  const open = rows.some((r) => r[0] === running && r[1] === false) ? running : undefined;
  const periods: { period: string; title: string }[] = [];
  if (complete !== undefined) periods.push({ period: String(complete), title: `${complete}` });
  if (open !== undefined) periods.push({ period: open, title: `${open} partial, to ${shanghaiTime(cutoff)}` });
  if (periods.length === 0) out(`indicators: no month with counted days yet (data cut-off ${shanghaiTime(cutoff)})`);
  for (const { period, title } of periods) {
    out(`indicators ${title.padEnd(16)} data-sharing rate        key-scenario coverage   (target 90%)`);
    for (const row of rows) {
      const [p, , , region, sharing, shared, required, coverage, covered, applicable] = row;
      if (p !== period || !shown.has(region as string)) continue;
      const label = `${region} ${names.get(region as string) ?? ''}`;
      out(
        `  ${label.padEnd(16)}${percent(sharing).padStart(8)} (${shared}/${required})`.padEnd(44) +
          `${percent(coverage).padStart(8)} (${covered}/${applicable})`,
      );
    }
  }
}
