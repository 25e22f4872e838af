import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoConfig } from '../../pipelines/config/load.js';
import { inspectFile } from '../dept-files/read/index.js';
import { fileReadOptions } from '../dept-files/read/options.js';
import { buildDemoCity } from './city.js';
import { DEPT_FILE_RESOURCE_PATTERN, DEPT_FILE_TIME_FORMAT, DEPT_FILE_TIME_PATTERN } from './dept-files.js';
import { csvText } from './dept-render.js';
import { DemoInbox } from './inbox.js';
import { loadRegions } from './testing/regions.js';

const city = buildDemoCity({
  seed: 7,
  startMonth: '2026-06',
  months: 3,
  scale: 0.2,
  regions: loadRegions(),
  dept: 'files',
});
const files = city.plan.deptFiles;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-demo-inbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the demo delivers its departments' data as files", () => {
  it('sends no raw.dept message and names each file <resource>_<delivery time>', () => {
    expect(city.plan.messages.some((m) => m.feed === 'dept')).toBe(false);
    for (const f of files) expect(f.name).toMatch(/^R\d{9}_\d{14}\.(csv|xlsx|ndjson)$/);
    expect(new Set(files.map((f) => f.name)).size).toBe(files.length);
  });

  it('the built-in config reads back what the demo writes into each name (its dept-files rules are the demo naming)', () => {
    for (const connector of demoConfig.connectors) {
      if (connector.kind !== 'dept-files') continue;
      expect(connector.resource.pattern).toBe(DEPT_FILE_RESOURCE_PATTERN);
      expect(connector.delivered_at).toEqual({ pattern: DEPT_FILE_TIME_PATTERN, format: DEPT_FILE_TIME_FORMAT });
    }
  });

  it('writes GBK CSV (some with a title row), XLSX and NDJSON, and broken files the reader reports', async () => {
    const inbox = new DemoInbox(dir);
    expect(await inbox.writeHistory('h1', files)).toBe(files.length);
    const read = {
      csv: fileReadOptions.parse({ format: 'csv', encoding: 'gbk', header_row: 'auto' }),
      xlsx: fileReadOptions.parse({ format: 'xlsx' }),
      ndjson: fileReadOptions.parse({ format: 'ndjson' }),
    };
    const problems = new Map<string, string>();
    for (const f of files) {
      const path = join(dir, f.format, f.name);
      const inspection = await inspectFile(path, read[f.format], f.name);
      if (inspection.problem) problems.set(f.name, inspection.problem.kind);
      else if (f.flaw !== 'unknown_resource') expect(inspection.rows, f.name).toBe(f.rows.length);
    }
    // Whole-file flaws are found by the reader; every other file reads with its rows.
    const flawed = files.filter((f) => f.flaw && f.flaw !== 'unknown_resource');
    expect(Object.fromEntries(problems)).toEqual(Object.fromEntries(flawed.map((f) => [f.name, f.flaw])));
    expect(new Set(flawed.map((f) => f.flaw))).toEqual(new Set(['empty', 'encoding_mismatch', 'truncated']));
    expect(files.some((f) => f.flaw === 'unknown_resource')).toBe(true);

    const csv = files.filter((f) => f.format === 'csv' && !f.flaw);
    expect(csv.some((f) => f.titleRow)).toBe(true);
    expect(csv.some((f) => !f.titleRow)).toBe(true);
    const titled = csv.find((f) => f.titleRow)!;
    const bytes = await readFile(join(dir, 'csv', titled.name));
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow(); // GBK, not UTF-8
    const text = new TextDecoder('gbk').decode(bytes);
    expect(text).toBe(csvText(titled));
    expect(text.split('\r\n')[0]).toContain(titled.title);
    expect(text.split('\r\n')[1]).toBe(titled.columns.join(','));
  });

  it('has rows that fail their declared fields (a blank required value, an impossible date) in valid files', () => {
    const partial = files.filter((f) => !f.flaw && f.landed < f.rows.length);
    expect(partial.length).toBeGreaterThan(0);
    const broken = partial.flatMap((f) =>
      f.rows.filter((r) => Object.values(r).some((v) => v === '' || /-02-30$/.test(String(v)))),
    );
    expect(broken.some((r) => Object.values(r).some((v) => /-02-30$/.test(String(v))))).toBe(true);
  });

  it('never writes a file twice: not after a restart, not once it was delivered and moved to done/', async () => {
    const inbox = new DemoInbox(dir);
    const first = files.slice(0, 5);
    // A crash part-way: some files written, no marker yet. One was delivered (moved to done/ by the connector).
    for (const f of first) await inbox.write(f);
    const delivered = first[0]!;
    const doneDir = join(dir, delivered.format, 'done');
    await mkdir(doneDir, { recursive: true });
    await rename(join(dir, delivered.format, delivered.name), join(doneDir, delivered.name));
    const before = await stat(join(dir, first[1]!.format, first[1]!.name));

    expect(await inbox.writeHistory('h1', files)).toBe(files.length - first.length);
    await expect(stat(join(dir, delivered.format, delivered.name))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(dir, first[1]!.format, first[1]!.name))).mtimeMs).toBe(before.mtimeMs);
    // Complete now: a later start writes nothing, even after every file was delivered.
    for (const format of ['csv', 'xlsx', 'ndjson']) await rm(join(dir, format), { recursive: true, force: true });
    expect(await inbox.writeHistory('h1', files)).toBe(0);
    expect((await readdir(join(dir, 'csv'))).length).toBe(0);
  });
});
