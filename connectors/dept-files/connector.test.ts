import { existsSync } from 'node:fs';
import { open, readdir, readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusProducer } from '../../pipelines/bus/types.js';
import { demoConfig } from '../../pipelines/config/load.js';
import { connectorConfig } from '../index.js';
import { deptFilesConnectorConfig } from './config.js';
import { gb18030, writeWorkbook } from './read/fixtures.js';
import { DeptHarness, resources, silentLog } from './testing.js';

const header = '名称,数量,日期';
const good = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => `文三路保洁巡查${from + i},${from + i},2026-08-0${1 + ((from + i) % 9)}`);

let h: DeptHarness;
beforeEach(async () => {
  h = new DeptHarness();
  await h.open();
});
afterEach(async () => {
  await h.close();
});

async function drop(name: string, content: string | Buffer, mtime?: Date): Promise<void> {
  const path = join(h.inbox, name);
  await writeFile(path, content);
  if (mtime) await utimes(path, mtime, mtime);
}

describe('dept-files from a folder', () => {
  it('delivers a GBK csv with a title row: one dept_delivery, its rows as dept_records with their file lines', async () => {
    const text = `西湖区城管局2026年8月巡查数据\r\n${header}\r\n${good(3).join('\r\n')}\r\n`;
    await drop('R330106003_20260801.csv', gb18030(text), new Date('2026-08-01T03:00:00Z'));
    const config = h.config({
      read: { format: 'csv', encoding: 'gbk', header_row: 'auto' },
      delivered_at: { pattern: '_(?<time>\\d{8})\\.csv$', format: 'YYYYMMDD' },
    });
    const connector = await h.run(config);
    const out = await h.landed();
    expect(out.received).toBe(out.landed + out.deadLetters.length);
    expect(out.deliveries).toEqual([
      expect.objectContaining({
        resource_code: 'R330106003',
        department_code: '330106-CG',
        region_code: '330106',
        // The date in the name, read in Asia/Shanghai, wins over the mtime.
        delivered_at: '2026-07-31T16:00:00.000Z',
        source_file: 'R330106003_20260801.csv',
        record_count: 3,
        valid_count: 3,
        checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      }),
    ]);
    expect(out.records.map((r) => [r.line, JSON.parse(r.record as string).名称])).toEqual([
      [3, '文三路保洁巡查1'],
      [4, '文三路保洁巡查2'],
      [5, '文三路保洁巡查3'],
    ]);
    expect(out.deadLetters).toEqual([]);
    expect(await readdir(join(h.inbox, 'done'))).toEqual(['R330106003_20260801.csv']);
    expect(existsSync(join(h.inbox, 'R330106003_20260801.csv'))).toBe(false);
    expect(connector.health().progress).toMatchObject({ files_seen: 1, files_delivered: 1, rows_sent: 3 });
  });

  it('gives every bad input a delivery problem or row dead letters with file and line, and keeps going', async () => {
    const utf8 = (rows: string[]) => `${[header, ...rows].join('\n')}\n`;
    const files: Record<string, string | Buffer> = {
      'R330106003_01-gbk-as-utf8.csv': gb18030(utf8(good(2))),
      'R330106003_02-bom.csv': `\uFEFF${utf8(good(2, 10))}`,
      'R330106003_03-ragged.csv': utf8(['保俶路巡查,1,2026-08-01,多出来的', '北山路巡查', ...good(1, 20)]),
      'R330106003_04-unclosed.csv': utf8(['"保俶路巡查,1,2026-08-01']),
      'R330106003_05-formula.csv': utf8(["=cmd|' /C calc'!A0,1,2026-08-01", ...good(1, 30)]),
      'R330106003_06-binary.csv': Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0xff, 0xfe, 0, 1, 2, 3, 0, 0]),
      'R330106003_07-empty.csv': '',
      'R330106003_08-header-only.csv': `${header}\n`,
      'R330106003_09-missing-column.csv': '数量,日期\n1,2026-08-01\n',
      'R330106003_10-impossible-date.csv': utf8(['保俶路巡查,1,2026/13/45', ...good(1, 40)]),
      'R999999999_11-unknown.csv': utf8(good(1)),
    };
    for (const [name, content] of Object.entries(files)) await drop(name, content);
    const connector = await h.run(h.config());
    const out = await h.landed();
    expect(connector.health().state).toBe('stopped');
    expect(out.received).toBe(out.landed + out.deadLetters.length);

    const delivery = (n: string) => out.deliveries.find((d) => String(d.source_file).includes(n));
    for (const [n, problem] of [
      ['01-gbk', 'encoding_mismatch'],
      ['04-unclosed', 'unclosed_quote'],
      ['06-binary', 'binary'],
      ['07-empty', 'empty'],
      ['08-header', 'header_only'],
      ['09-missing', 'missing_column'],
    ]) {
      expect(delivery(n!), n).toMatchObject({
        record_count: 0,
        valid_count: 0,
        problem: expect.stringMatching(`^${problem}: `),
      });
      // The whole file is one dead letter naming it; none of its rows landed.
      expect(
        out.deadLetters.filter((d) => d.source_ref?.includes(n!)),
        n,
      ).toEqual([
        expect.objectContaining({
          reason_code: problem,
          source_ref: expect.stringMatching(/^xihu-cg:R330106003_\d\d-/),
        }),
      ]);
    }
    expect(delivery('09-missing')?.problem).toContain('名称');
    expect(out.records.filter((r) => r.delivery_id === delivery('04-unclosed')?.delivery_id)).toEqual([]);

    expect(delivery('02-bom')).toMatchObject({ record_count: 2, valid_count: 2 });
    expect(
      JSON.parse(out.records.find((r) => r.delivery_id === delivery('02-bom')?.delivery_id)!.record as string),
    ).toHaveProperty('名称');

    const rowLetters = (n: string) =>
      out.deadLetters
        .filter((d) => d.source_ref?.includes(n))
        .map((d) => [d.reason_code, d.source_ref?.split(':').at(-1)]);
    expect(rowLetters('03-ragged')).toEqual([
      ['ragged_row', '2'],
      ['ragged_row', '3'],
    ]);
    expect(delivery('03-ragged')).toMatchObject({ record_count: 3, valid_count: 1 });
    expect(rowLetters('05-formula')).toEqual([['formula_cell', '2']]);
    expect(rowLetters('10-impossible')).toEqual([['invalid', '2']]);
    expect(out.deadLetters.find((d) => d.source_ref?.includes('10-impossible'))?.issues[0]?.message).toContain('日期');
    expect(delivery('10-impossible')).toMatchObject({ record_count: 2, valid_count: 1 });

    // An unknown resource cannot make a delivery row (no department, no region): its file is dead-lettered whole.
    expect(delivery('11-unknown')).toBeUndefined();
    expect(out.deadLetters.filter((d) => d.source_ref?.includes('11-unknown'))).toEqual([
      expect.objectContaining({
        reason_code: 'unknown_resource',
        issues: [expect.objectContaining({ message: expect.stringContaining('R999999999') })],
      }),
    ]);
    expect(connector.health().progress).toMatchObject({ files_seen: 11, files_with_problems: 7 });
  });

  it('reports UTF-8 declared as GBK, and a truncated xlsx, as delivery problems', async () => {
    await drop('R330106003_utf8.csv', `${header}\n${good(2).join('\n')}\n`);
    await h.run(h.config({ read: { format: 'csv', encoding: 'gbk' } }));
    const xlsx = join(h.dir, 'whole.xlsx');
    await writeWorkbook(xlsx, [
      { name: '巡查', rows: [['名称', '数量'], ...good(50).map((r) => r.split(',').slice(0, 2))] },
    ]);
    const bytes = await readFile(xlsx);
    await drop('R330106003_cut.xlsx', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await h.run(h.config({ id: 'xihu-cg-xlsx', read: { format: 'xlsx' } }));
    const out = await h.landed();
    expect(out.deliveries.map((d) => [d.source_file, String(d.problem).split(':')[0]]).sort()).toEqual([
      ['R330106003_cut.xlsx', 'truncated'],
      ['R330106003_utf8.csv', 'encoding_mismatch'],
    ]);
    expect(out.records).toEqual([]);
  });

  it('records the same file again as a re-delivery without records, and a changed file as a new delivery', async () => {
    const bytes = `${header}\n${good(4).join('\n')}\n`;
    await drop('R330106003_daily.csv', bytes, new Date('2026-08-01T02:00:00Z'));
    await h.run(h.config());
    await drop('R330106003_daily.csv', bytes, new Date('2026-08-02T02:00:00Z'));
    await h.run(h.config());
    await drop('R330106003_daily.csv', `${header}\n${good(5).join('\n')}\n`, new Date('2026-08-03T02:00:00Z'));
    await h.run(h.config());
    const out = await h.landed();
    const [first, again, changed] = [...out.deliveries].sort((a, b) =>
      String(a.delivered_at).localeCompare(String(b.delivered_at)),
    );
    expect(first).toMatchObject({ record_count: 4, valid_count: 4 });
    expect(first).not.toHaveProperty('redelivery_of');
    expect(again).toMatchObject({
      record_count: 0,
      valid_count: 0,
      redelivery_of: first!.delivery_id,
      checksum: first!.checksum,
    });
    expect(changed).toMatchObject({ record_count: 5, valid_count: 5 });
    expect(changed!.delivery_id).not.toBe(first!.delivery_id);
    expect(out.records).toHaveLength(9);
    expect(out.deadLetters).toEqual([]);
    expect((await readdir(join(h.inbox, 'done'))).length).toBe(3);
  });

  it('with move_done false leaves files in place and never delivers them twice, across restarts', async () => {
    await drop('R330106003_a.csv', `${header}\n${good(2).join('\n')}\n`);
    const config = h.config({ source: { type: 'folder', path: 'inbox', settle_ms: 0, move_done: false } });
    await h.run(config);
    await h.run(config);
    const out = await h.landed();
    expect(out.deliveries).toHaveLength(1);
    expect(out.records).toHaveLength(2);
    expect(existsSync(join(h.inbox, 'R330106003_a.csv'))).toBe(true);
  });

  it.each([1, 2, 3, 5, 8, 9])(
    'restarted after dying after send %i of a file: every row and dead letter exactly once',
    async (dieAfter) => {
      const rows = good(40);
      rows[6] = '保俶路巡查,x,2026-08-01'; // 数量 not an integer: a row dead letter
      rows[25] = '保俶路巡查,1,2026-02-30';
      await drop('R330106003_big.csv', `${header}\n${rows.join('\n')}\n`);
      await drop('R330106004_small.csv', `门牌,责任人\n文三路1号,张\n`);
      const config = h.config({ chunk_records: 5 });
      class Died extends Error {}
      let sends = 0;
      const dying = (p: BusProducer): BusProducer => ({
        send: async (topic, messages) => {
          const results = await p.send(topic, messages);
          if (++sends === dieAfter) throw new Died('killed after the acknowledgement');
          return results;
        },
        close: () => p.close(),
      });
      await expect(h.run(config, dying)).rejects.toBeInstanceOf(Died);
      await h.run(config);
      const out = await h.landed();
      expect(out.received).toBe(out.landed + out.deadLetters.length);
      const lines = out.records.filter((r) => r.resource_code === 'R330106003').map((r) => r.line);
      expect(lines).toHaveLength(38);
      expect(new Set(lines).size).toBe(38);
      expect(out.deadLetters.map((d) => d.source_ref).sort()).toEqual([
        'xihu-cg:R330106003_big.csv:27',
        'xihu-cg:R330106003_big.csv:8',
      ]);
      expect(out.deliveries.map((d) => [d.resource_code, d.record_count, d.valid_count]).sort()).toEqual([
        ['R330106003', 40, 38],
        ['R330106004', 1, 1],
      ]);
    },
  );
});

describe('dept-files with many small files', () => {
  it.each([1, 2])(
    'batched into shared sends, restarted after dying after send %i: every file delivered once, every row once',
    async (dieAfter) => {
      for (let f = 0; f < 20; f++) {
        const rows = good(3, f * 10);
        if (f % 4 === 0) rows.push('保俶路巡查,x,2026-08-01');
        await drop(`R330106003_${String(f).padStart(2, '0')}.csv`, `${header}\n${rows.join('\n')}\n`);
      }
      let sends = 0;
      class Died extends Error {}
      const config = h.config();
      await expect(
        h.run(config, (p) => ({
          send: async (topic, messages) => {
            const results = await p.send(topic, messages);
            if (++sends === dieAfter) throw new Died('killed after the acknowledgement');
            return results;
          },
          close: () => p.close(),
        })),
      ).rejects.toBeInstanceOf(Died);
      await h.run(config);
      const out = await h.landed();
      expect(out.received).toBe(out.landed + out.deadLetters.length);
      expect(out.deliveries).toHaveLength(20);
      expect(new Set(out.deliveries.map((d) => d.source_file)).size).toBe(20);
      // Every fourth file has one bad row; each delivery counts its rows once.
      const counts = (d: Record<string, unknown>) => [d.record_count, d.valid_count];
      const expected = (d: Record<string, unknown>) =>
        Number(String(d.source_file).slice(11, 13)) % 4 === 0 ? [4, 3] : [3, 3];
      for (const d of out.deliveries) expect(counts(d), String(d.source_file)).toEqual(expected(d));
      expect(out.records).toHaveLength(60);
      expect(new Set(out.records.map((r) => `${r.delivery_id}:${r.line}`)).size).toBe(60);
      expect(out.deadLetters.map((d) => d.reason_code)).toEqual(Array(5).fill('invalid'));
      expect(await readdir(h.inbox)).toEqual(['done']);
    },
  );
});

describe('dept-files when a file changes or the connector stops', () => {
  it('a file that changes while it is read becomes a delivery with a problem: its sent rows stay, counted; nothing fails', async () => {
    // Two files of 6,000 rows (more than one read chunk): one gets an unclosed quote written into its middle, the
    // other is cut short, each right after its first chunk reached the bus. Both still parse to some end.
    const rows = good(6000);
    const old = new Date('2026-08-01T02:00:00Z');
    await drop('R330106003_a-quote.csv', `${header}\n${rows.join('\n')}\n`, old);
    await drop('R330106003_b-cut.csv', `${header}\n${good(6000, 10_000).join('\n')}\n`, old);
    await drop('R330106004_c-after.csv', `门牌,责任人\n文三路1号,张\n`);
    const changed = new Set<string>();
    const config = h.config({ chunk_records: 1000 });
    const connector = await h.run(config, (p) => ({
      send: async (topic, messages) => {
        const results = await p.send(topic, messages);
        const value = String(messages[0]?.value ?? '');
        for (const name of ['R330106003_a-quote.csv', 'R330106003_b-cut.csv'])
          if (topic === 'raw.dept' && value.includes(`"file":"${name}"`) && !changed.has(name)) {
            changed.add(name);
            const path = join(h.inbox, name);
            if (name.includes('quote')) {
              const handle = await open(path, 'r+');
              await handle.write('"', 200_000);
              await handle.close();
            } else await truncate(path, 150_000);
          }
        return results;
      },
      close: () => p.close(),
    }));
    expect(connector.health().state).toBe('stopped');
    const out = await h.landed();
    expect(out.received).toBe(out.landed + out.deadLetters.length);
    console.log(
      JSON.stringify(out.deliveries),
      JSON.stringify(out.deadLetters.map((d) => [d.source_ref, d.reason_code])),
    );
    for (const name of ['a-quote', 'b-cut']) {
      const delivery = out.deliveries.find((d) => String(d.source_file).includes(name))!;
      expect(delivery.problem, name).toMatch(/^changed_during_read: the file changed while it was read/);
      const landed = out.records.filter((r) => r.delivery_id === delivery.delivery_id);
      // Only whole chunks sent before the change landed, and the delivery counts exactly them.
      expect(landed.length, name).toBeGreaterThanOrEqual(1000);
      expect(landed.length % 1000, name).toBe(0);
      expect(landed.length, name).toBeLessThan(6000);
      expect(delivery, name).toMatchObject({ record_count: landed.length, valid_count: landed.length });
      expect(out.deadLetters.filter((d) => d.source_ref?.includes(name)).map((d) => d.reason_code)).toEqual([
        'changed_during_read',
      ]);
    }
    expect(out.deliveries.find((d) => String(d.source_file).includes('c-after'))).toMatchObject({ record_count: 1 });
    expect(connector.health().progress).toMatchObject({ files_seen: 3, files_delivered: 1, files_with_problems: 2 });

    // The same bytes delivered again were never delivered whole: a full delivery under a new id, not a re-delivery.
    await drop('R330106003_a-again.csv', `${header}\n${rows.join('\n')}\n`);
    await h.run(config);
    const again = (await h.landed()).deliveries.find((d) => String(d.source_file).includes('a-again'))!;
    const first = out.deliveries.find((d) => String(d.source_file).includes('a-quote'))!;
    expect(again).toMatchObject({ record_count: 6000, valid_count: 6000, delivery_id: `${first.delivery_id}-r1` });
    expect(again).not.toHaveProperty('redelivery_of');
    expect(again).not.toHaveProperty('problem');
  });

  it("the built-in demo's watching connectors deliver every file present when stopped (drain_on_stop)", async () => {
    const csv = (demoConfig.connectors as readonly Record<string, unknown>[]).find((c) => c.id === 'demo-csv')!;
    const config = deptFilesConnectorConfig.parse(csv);
    expect(config).toMatchObject({ once: false, drain_on_stop: true });
    for (let i = 0; i < 12; i++)
      await drop(
        `R330106003_202608${String(i + 1).padStart(2, '0')}120000.csv`,
        gb18030(`${header}\r\n${good(3, i * 3).join('\r\n')}\r\n`),
      );
    const connector = h.connector(config);
    const checkpoint = await h.checkpoint(config.id);
    await connector.start({
      producer: checkpoint.guard(h.bus.producer()),
      checkpoint,
      log: silentLog,
      dataResources: resources,
    });
    // Stopped at once, as a bounded run that ends right after start: the files already there are still delivered.
    await connector.stop();
    expect(connector.health().state).toBe('stopped');
    const out = await h.landed();
    expect(out.deliveries).toHaveLength(12);
    expect(out.records).toHaveLength(36);
    expect(await readdir(h.inbox)).toEqual(['done']);
  });
});

describe('dept-files config', () => {
  it('rejects a file-name rule without a resource group, an unknown key, and half a credential pair', () => {
    const base = { id: 'x', kind: 'dept-files', read: { format: 'csv' } };
    const bad = connectorConfig.safeParse({
      ...base,
      source: { type: 's3', bucket: 'b', access_key_id: 'AK', surprise: 1 },
      resource: { from: 'file_name', pattern: '^R\\d+' },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(paths).toContain('resource.pattern: the pattern needs a named group (?<resource>…)');
    expect(paths).toMatch(/source.*surprise|Unrecognized key.*surprise/);
    const ok = connectorConfig.safeParse({
      ...base,
      source: { type: 'folder', path: 'inbox' },
      resource: { from: 'folder' },
    });
    expect(ok.success).toBe(true);
  });
});
