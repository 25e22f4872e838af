import type { Region } from '../../schemas/index.js';
import { queryMarts } from '../models/index.js';

function percent(rate: unknown): string {
  return typeof rate === 'number' ? `${(rate * 100).toFixed(1)}%` : '  n/a';
}

/** Prints the two headline indicators for the hub's region and its direct children, latest complete month first. */
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
    sql: `select s.period, s.region_code, s.sharing_rate, s.shared_count, s.required_count,
                 c.coverage_rate, c.covered_count, c.applicable_count
          from mart_data_sharing s
          join mart_scenario_coverage c using (grain, period, region_code)
          where s.grain = 'month'
          order by s.period desc, s.region_code`,
  });
  if (rows.length === 0) {
    out('indicators: no data landed yet');
    return;
  }
  const periods = [...new Set(rows.map((r) => r[0] as string))].slice(0, 2);
  for (const period of periods) {
    out(`indicators ${period}          data-sharing rate        key-scenario coverage   (target 90%)`);
    for (const row of rows) {
      const [p, region, sharing, shared, required, coverage, covered, applicable] = row;
      if (p !== period || !shown.has(region as string)) continue;
      const label = `${region} ${names.get(region as string) ?? ''}`;
      out(
        `  ${label.padEnd(16)}${percent(sharing).padStart(8)} (${shared}/${required})`.padEnd(44) +
          `${percent(coverage).padStart(8)} (${covered}/${applicable})`,
      );
    }
  }
}
