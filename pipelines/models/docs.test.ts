import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapeHtml, writeModelsDocs } from './docs.js';
import { loadProject } from './project.js';
import { buildTestMarts, hotline, tempDirs } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('cityhub models docs', () => {
  it('documents every model with its columns from the marts file, its lineage both ways, and every indicator', async () => {
    const { result } = await buildTestMarts(dirs, {
      regionCode: '330100',
      now: new Date('2026-10-01T00:00:00+08:00'),
      lake: { hotline_case: [hotline({ case_id: 'c1', received_at: '2026-09-02T01:00:00Z' })] },
    });
    const outPath = join(await dirs.make(), 'docs', 'models.html');
    const written = await writeModelsDocs({ sqlDir, martsPath: result.martsPath, outPath });
    const html = await readFile(outPath, 'utf8');
    const project = await loadProject(sqlDir);
    expect(written.models).toBe(project.models.length);
    // Every table has its columns; only the views over the lake (dropped from the file) have none.
    expect(written.withColumns).toBe(project.models.filter((m) => m.header.materialization !== 'view').length);
    for (const model of project.models) {
      expect(html).toContain(`<section id="model-${model.name}"><h3>${model.name}</h3>`);
      expect(html).toContain(escapeHtml(model.header.description));
    }
    for (const indicator of project.indicators) expect(html).toContain(`<code>${indicator.code}</code>`);
    // Columns with types, and lineage: mart_hotline reads int_hotline_cases_latest, which is read by mart_hotline.
    const hotlineSection = html.slice(html.indexOf('<section id="model-mart_hotline">'));
    expect(hotlineSection.slice(0, hotlineSection.indexOf('</section>'))).toMatch(
      /<th>reads<\/th><td>.*<a href="#model-int_hotline_cases_latest">.*<td><code>composite_score<\/code><\/td><td>DOUBLE<\/td>/s,
    );
    const latest = html.slice(html.indexOf('<section id="model-int_hotline_cases_latest">'));
    expect(latest.slice(0, latest.indexOf('</section>'))).toMatch(
      /materialization<\/th><td>incremental by received_date<\/td>.*<th>read by<\/th><td>.*model-mart_hotline/s,
    );
    expect(html).not.toMatch(/<script/i);
  });

  it('escapes what it shows', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
