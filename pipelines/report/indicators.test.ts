import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runModels } from '../models/index.js';
import { delivery, resource, tempDirs, testRegions, writeLake } from '../models/testing.js';
import { printIndicators } from './indicators.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

async function headline(now: string): Promise<string[]> {
  const dir = await dirs.make();
  const lakeDir = join(dir, 'lake');
  await writeLake(lakeDir, 'dept_delivery', [
    delivery({ delivery_id: 'jul', resource_code: 'm1', delivered_at: '2026-07-10T02:00:00Z' }),
    delivery({ delivery_id: 'aug', resource_code: 'm2', delivered_at: '2026-08-03T02:00:00Z' }),
  ]);
  const { martsPath } = await runModels({
    lakeDir,
    martsPath: join(dir, 'marts.duckdb'),
    sqlDir,
    regionCode: '330000',
    catalogs: {
      regions: testRegions,
      data_resources: [resource({ resource_code: 'm1' }), resource({ resource_code: 'm2' })],
      scenarios: [],
      devices: [],
    },
    now: new Date(now),
  });
  const lines: string[] = [];
  await printIndicators(martsPath, '330000', testRegions, (line) => lines.push(line));
  return lines;
}

it('leads with the latest complete month, then the running month labelled partial with its cut-off', async () => {
  const lines = await headline('2026-08-16T10:00:00+08:00');
  expect(lines.filter((l) => l.startsWith('indicators'))).toEqual([
    expect.stringMatching(/^indicators 2026-07 +data-sharing rate/),
    expect.stringMatching(/^indicators 2026-08 partial, to 2026-08-16 00:00 +data-sharing rate/),
  ]);
  // July: m1 shared, m2 missed; August so far: m2 shared, m1 not due yet — not a collapse to 50%.
  expect(lines[1]).toMatch(/^ {2}330000 浙江省 +50\.0% \(1\/2\)/);
  expect(lines.find((l) => l.includes('330000') && lines.indexOf(l) > 2)).toMatch(/100\.0% \(1\/1\)/);
});

it('shows only complete months once every month is over', async () => {
  const lines = await headline('2026-09-01T08:00:00+08:00');
  expect(lines.filter((l) => l.startsWith('indicators'))).toEqual([
    expect.stringMatching(/^indicators 2026-08 +data-sharing rate/),
  ]);
});
