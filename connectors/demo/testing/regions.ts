import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Region, region } from '../../../schemas/index.js';

/** The project's region catalog (sql/seeds/regions.csv), as the caller of buildDemoCity loads it. */
export function loadRegions(): Region[] {
  const path = fileURLToPath(new URL('../../../sql/seeds/regions.csv', import.meta.url));
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const columns = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row = Object.fromEntries(columns.map((c, i) => [c, cells[i]]).filter(([, v]) => v !== '' && v !== undefined));
    return region.parse(row);
  });
}
