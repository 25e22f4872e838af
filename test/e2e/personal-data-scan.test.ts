import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDemoCity, clearPhones } from '../../connectors/demo/index.js';
import { bundledRegionsPath, loadCatalogFile } from '../../pipelines/catalogs/load.js';
import { hostileHubConfig, plantedPersonalData, writeHostileCorpus } from '../support/hostile-corpus.js';
import { runCli, tempDir, writeConfig } from '../support/hub-process.js';
import { type Finding, scanDataDir, scanText } from '../support/personal-data-scan.js';

/** Findings grouped by file (or stream): where something leaked, and which values, is the repair to-do. */
function byPlace(findings: Finding[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { where, value } of findings) {
    const values = out[where] ?? [];
    if (!values.includes(value)) values.push(value);
    out[where] = values;
  }
  return out;
}

// Issue 6, item 7: no clear personal data at rest anywhere in the data dir (bus, lake, dead letters, marts,
// catalogs, checkpoints) nor in the logs, whatever path a record took.
describe('no clear personal data anywhere in the data dir', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await dir?.remove();
    dir = undefined;
  });

  it('after a demo run', async () => {
    dir = await tempDir('pii-demo');
    const demo = { seed: 77, startMonth: '2026-06', months: 1, scale: 0.1 };
    const phones = clearPhones(buildDemoCity({ ...demo, regions: loadCatalogFile('regions', bundledRegionsPath()) }));
    expect(phones.length).toBeGreaterThan(10);
    const dataDir = join(dir.path, 'data');
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      data_dir: dataDir,
      privacy: { salt: 'pii-scan-salt-2026' },
      connectors: [
        {
          id: 'demo',
          kind: 'demo',
          seed: demo.seed,
          start_month: demo.startMonth,
          months: demo.months,
          scale: demo.scale,
          live: false,
        },
      ],
      landing: { max_age_ms: 300 },
      log: { level: 'debug' },
    });
    const run = await runCli(['run', '--config', config, '--for', '1s'], { timeoutMs: 150_000 });
    expect(run.code, run.stderr.slice(-4000)).toBe(0);
    const findings: Finding[] = [
      ...(await scanDataDir(dataDir, phones)),
      ...scanText(run.stdout, phones, 'stdout'),
      ...scanText(run.stderr, phones, 'stderr (logs)'),
    ];
    expect(byPlace(findings)).toEqual({});
  });

  it('after the hostile corpus, with phones, landlines and ID numbers in free text and vendor field names', async () => {
    dir = await tempDir('pii-hostile');
    const corpus = await writeHostileCorpus(join(dir.path, 'inbox'), { hugeBodies: false });
    const dataDir = join(dir.path, 'data');
    const config = await writeConfig(dir.path, { ...hostileHubConfig(dataDir, corpus), log: { level: 'debug' } });
    const run = await runCli(['run', '--config', config, '--for', '1s'], { timeoutMs: 150_000 });
    expect(run.code, run.stderr.slice(-4000)).toBe(0);
    const planted = [
      ...plantedPersonalData.mobiles,
      ...plantedPersonalData.landlines,
      ...plantedPersonalData.idNumbers,
    ];
    const findings: Finding[] = [
      ...(await scanDataDir(dataDir, planted)),
      ...scanText(run.stdout, planted, 'stdout'),
      ...scanText(run.stderr, planted, 'stderr (logs)'),
    ];
    expect(byPlace(findings)).toEqual({});
  });
});
