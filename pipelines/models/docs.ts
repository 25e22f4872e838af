/**
 * `cityhub models docs`: one self-contained HTML page documenting the models — every model with its description,
 * materialization, grain, columns (with their types, from the published marts file), tests and lineage (what it reads,
 * what reads it), and the indicator catalog with definitions and formulas. No script, no external asset: it opens
 * from disk and can be mailed.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IncrementalBy } from './header.js';
import type { Indicator } from './indicator-catalog.js';
import { loadProject, type ModelDefinition, type ModelProject } from './project.js';
import { openMartsReadOnly } from './query.js';

export interface ColumnInfo {
  name: string;
  type: string;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c]!);
}

const anchor = (name: string) => `model-${name}`;
const link = (name: string, models: ReadonlySet<string>) =>
  models.has(name)
    ? `<a href="#${anchor(name)}"><code>${escapeHtml(name)}</code></a>`
    : `<code>${escapeHtml(name)}</code>`;

function incrementalSuffix(by: IncrementalBy | undefined): string {
  if (by === undefined) return '';
  if (by.kind === 'day') return ` by ${by.column}`;
  return ` by (grain, period) of ${by.facts.map((f) => `${f.relation}.${f.dates.join('/')}`).join(', ')}`;
}

function modelSection(
  model: ModelDefinition,
  readers: string[],
  columns: ColumnInfo[] | undefined,
  names: ReadonlySet<string>,
): string {
  const h = model.header;
  const rows = [
    ['layer', escapeHtml(model.layer)],
    ['materialization', escapeHtml(h.materialization + incrementalSuffix(h.incrementalBy))],
    ['grain', h.grain.length === 0 ? '—' : `<code>(${escapeHtml(h.grain.join(', '))})</code>`],
    ['reads', h.dependsOn.length === 0 ? '—' : h.dependsOn.map((d) => link(d, names)).join(', ')],
    ['read by', readers.length === 0 ? '—' : readers.map((d) => link(d, names)).join(', ')],
    ...(model.sources.length === 0 ? [] : [['lake datasets', escapeHtml(model.sources.join(', '))]]),
  ];
  const columnTable =
    columns === undefined
      ? '<p class="note">Not stored in the marts file (a view over the lake), or the marts file is not built yet.</p>'
      : `<table><thead><tr><th>column</th><th>type</th></tr></thead><tbody>${columns
          .map((c) => `<tr><td><code>${escapeHtml(c.name)}</code></td><td>${escapeHtml(c.type)}</td></tr>`)
          .join('')}</tbody></table>`;
  const tests =
    h.tests.length === 0
      ? ''
      : `<details><summary>${h.tests.length} data tests</summary><ul>${h.tests
          .map((t) => `<li><code>${escapeHtml(t.name)}</code>${t.severity === 'warn' ? ' (warn)' : ''}</li>`)
          .join('')}</ul></details>`;
  return `<section id="${anchor(model.name)}"><h3>${escapeHtml(model.name)}</h3><p>${escapeHtml(h.description)}</p>
<table class="meta">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
${columnTable}${tests}</section>`;
}

function indicatorTable(indicators: readonly Indicator[], names: ReadonlySet<string>): string {
  const head = ['code', 'name', 'dimension', 'kind', 'unit', 'where', 'formula', 'definition', 'grains', 'source'];
  const body = indicators
    .map((i) =>
      [
        `<code>${escapeHtml(i.code)}</code>`,
        `${escapeHtml(i.name_zh)}<br>${escapeHtml(i.name_en)}`,
        escapeHtml(i.dimension),
        escapeHtml(i.kind),
        escapeHtml(i.unit),
        `${link(i.mart, names)}.<code>${escapeHtml(i.value_column)}</code>${
          Object.keys(i.row_filter).length === 0
            ? ''
            : ` where ${Object.entries(i.row_filter)
                .map(([c, v]) => `<code>${escapeHtml(c)} = '${escapeHtml(v)}'</code>`)
                .join(' and ')}`
        }`,
        `<code>${escapeHtml(i.formula)}</code>`,
        escapeHtml(i.definition),
        escapeHtml(i.grains.join(', ')),
        escapeHtml(i.source),
      ]
        .map((cell) => `<td>${cell}</td>`)
        .join(''),
    )
    .map((row) => `<tr>${row}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The page for a project; `columns` maps stored models to their columns (from the marts file). */
export function renderModelsDocs(
  project: ModelProject,
  columns: ReadonlyMap<string, ColumnInfo[]>,
  meta: { generatedAt: Date; martsPath: string },
): string {
  const names = new Set(project.models.map((m) => m.name));
  const readers = new Map<string, string[]>();
  for (const m of project.models) {
    for (const dep of m.header.dependsOn) readers.set(dep, [...(readers.get(dep) ?? []), m.name]);
  }
  const layers = ['marts', 'intermediate', 'staging'] as const;
  const toc = layers
    .map(
      (layer) =>
        `<li>${layer}: ${project.models
          .filter((m) => m.layer === layer)
          .map((m) => link(m.name, names))
          .join(', ')}</li>`,
    )
    .join('');
  const sections = layers
    .map(
      (layer) =>
        `<h2>${layer}</h2>${project.models
          .filter((m) => m.layer === layer)
          .map((m) => modelSection(m, readers.get(m.name) ?? [], columns.get(m.name), names))
          .join('\n')}`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cityhub models</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
table.meta th{background:#f4f4f4;width:9em}section{border-top:1px solid #ddd;margin-top:1.5em}.note{color:#777}
code{font-size:13px}
</style></head><body>
<h1>cityhub models</h1>
<p>${project.models.length} models from <code>${escapeHtml(project.sqlDir)}</code>; columns from
<code>${escapeHtml(meta.martsPath)}</code>; generated ${escapeHtml(meta.generatedAt.toISOString())}.
Definitions of the indicators: docs/indicators.md.</p>
<ul>${toc}<li><a href="#indicators">indicators</a></li></ul>
<h2 id="indicators">Indicators (mart_indicators)</h2>
${indicatorTable(project.indicators, names)}
${sections}
</body></html>
`;
}

/** Writes the page for the models in `sqlDir`, with the columns of the published marts file when there is one. */
export async function writeModelsDocs(o: { sqlDir: string; martsPath: string; outPath: string }): Promise<{
  models: number;
  withColumns: number;
}> {
  const project = await loadProject(o.sqlDir);
  const columns = new Map<string, ColumnInfo[]>();
  if (existsSync(o.martsPath)) {
    const { instance, connection } = await openMartsReadOnly(o.martsPath);
    try {
      const reader = await connection.runAndReadAll(
        `select table_name, column_name, data_type from information_schema.columns
         where table_catalog = current_database() and table_schema = 'main' order by table_name, ordinal_position`,
      );
      for (const [table, column, type] of reader.getRows()) {
        const list = columns.get(String(table)) ?? [];
        list.push({ name: String(column), type: String(type) });
        columns.set(String(table), list);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }
  const html = renderModelsDocs(project, columns, { generatedAt: new Date(), martsPath: o.martsPath });
  await mkdir(dirname(o.outPath), { recursive: true });
  await writeFile(`${o.outPath}.tmp`, html);
  await rename(`${o.outPath}.tmp`, o.outPath);
  return { models: project.models.length, withColumns: project.models.filter((m) => columns.has(m.name)).length };
}
