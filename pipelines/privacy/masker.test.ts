import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/hub-process.js';
import { openEmbeddedBus } from '../bus/embedded/index.js';
import { keyedHash, parseHashToken } from './keyed-hash.js';
import { PersonalDataMasker } from './masker.js';
import { maskingProducer } from './masking-producer.js';
import { findPersonal, scrubPersonalText } from './personal-text.js';

/** Personal data never reaches durable storage in clear (issue 6 item 7). */
const key = { id: 'k2026', key: 'hangzhou-hotline-hmac-key-2026' };
const masker = new PersonalDataMasker(key);

const order = {
  orderNo: '12345-202608010001',
  acceptTime: '2026-08-01 09:12:33',
  category: '城市管理/市容环境/暴露垃圾',
  street: '330106',
  caller: { name: '张三丰', phone: '138 1234 5678' },
  content: '张三丰反映：文三路垃圾堆放，联系电话13912345678，座机(0571)8888-6666，身份证330106199001011234。',
  callerName: '李四',
  callerPhone: '+86 137-1234-5678',
  extra: { mobile: 13612345678, idCard: '33010619850202123X', remark: '回电 021-62345678 转 12' },
};

// biome-ignore lint/suspicious/noExplicitAny: the masked payload is walked by path in assertions, any depth
function masked(value: unknown): Record<string, any> {
  const out = masker.mask(Buffer.from(JSON.stringify(value)));
  if (!out.ok) throw new Error(out.message);
  return JSON.parse(out.value.toString());
}

describe('personal text patterns', () => {
  it.each([
    ['mobile', '请回电13812345678谢谢'],
    ['mobile with +86 and dashes', '电话 +86 138-1234-5678'],
    ['landline with area code', '座机0571-88886666'],
    ['landline in brackets', '（010）62345678'],
    ['18-digit ID number', '身份证号33010619900101123X。'],
    ['mobile after a name and a dash', '联系人张先生-13812345678'],
  ])('finds and replaces a %s', (_, text) => {
    expect(findPersonal(text)).toHaveLength(1);
    expect(findPersonal(scrubPersonalText(text))).toEqual([]);
  });

  it.each([
    ['a 15-digit grid code', '330106001001001'],
    ['a 16-digit component id', '3205080101000001'],
    ['an epoch in ms', '1785542400000'],
    ['a date-time', '2026-08-01 09:12:33'],
    ['an order number', '12345-202608010001'],
    ['a number inside a vendor id', 'HIK-330106-05065104505'],
    ['a serial with a letter prefix', 'GS-073677230501'],
    ['a run of digits that is no allocated area code', '0123456789'],
  ])('leaves %s alone', (_, text) => {
    expect(scrubPersonalText(text)).toBe(text);
  });
});

describe('PersonalDataMasker', () => {
  it('replaces phones under any configured field name by an HMAC token with its key id, at any depth', () => {
    const out = masked(order);
    expect(parseHashToken(out.caller.phone)).toEqual({ keyId: 'k2026', hash: keyedHash(key, '13812345678') });
    // The same caller written another way hashes the same: +86, spaces and dashes are presentation.
    expect(parseHashToken(out.callerPhone)?.hash).toBe(keyedHash(key, '13712345678'));
    expect(parseHashToken(out.extra.mobile)?.hash).toBe(keyedHash(key, '13612345678'));
    expect(parseHashToken(out.extra.idCard)?.keyId).toBe('k2026');
  });

  it('replaces names, and erases them from the free text of the same payload', () => {
    const out = masked(order);
    expect(out.caller.name).toBe('[name]');
    expect(out.callerName).toBe('[name]');
    expect(out.content).not.toContain('张三丰');
    expect(out.content).toContain('文三路垃圾堆放');
  });

  it('leaves no phone, landline or ID number anywhere in the masked bytes', () => {
    const text = JSON.stringify(masked(order));
    expect(findPersonal(text)).toEqual([]);
    for (const clear of [
      '13812345678',
      '1234 5678',
      '13912345678',
      '8888-6666',
      '330106199001011234',
      '13612345678',
      '62345678',
    ])
      expect(text).not.toContain(clear);
    expect(masked(order).orderNo).toBe(order.orderNo);
  });

  it('is idempotent: a token is not hashed again', () => {
    const once = masked(order);
    expect(masked(once)).toEqual(once);
  });

  it('a keyed hash is not a plain or salted SHA-256 and changes with the key', () => {
    const other = keyedHash({ id: 'x', key: 'another-key-entirely-0000' }, '13812345678');
    expect(keyedHash(key, '13812345678')).not.toBe(other);
  });

  it('refuses to pass through what it cannot parse, with a preview scrubbed of digit runs and names', () => {
    const out = masker.mask(Buffer.from('{"caller":{"name":"王五","phone":"13812345678"'));
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.reason_code).toBe('malformed_json');
    expect(out.preview).not.toContain('13812345678');
    expect(out.preview).not.toContain('王五');
  });
});

describe('the masking producer: the bus never holds clear personal data', () => {
  it('masks personal feeds before the append, and replaces what cannot be masked by a scrubbed envelope', async () => {
    const dir = await tempDir('masking');
    try {
      const bus = await openEmbeddedBus({ dir: join(dir.path, 'bus'), fsync: 'always' });
      for (const topic of ['raw.hotline', 'dlq.hotline', 'raw.sensor']) await bus.ensureTopic(topic, { partitions: 1 });
      const producer = maskingProducer(bus.producer(), masker, new Set(['hotline'] as const));
      await producer.send('raw.hotline', [
        { key: order.orderNo, value: JSON.stringify(order) },
        { key: '13812345678', value: Buffer.from([0x7b, 0xff, 0x22, 0x31, 0x33, 0x38]) },
        { key: 'x', value: '{"caller":{"phone":"13812345678"' },
      ]);
      await producer.send('raw.sensor', [{ key: 'd', value: '{"dev":"GAS-1"}' }]);
      const ends = Object.fromEntries(
        await Promise.all(
          ['raw.hotline', 'dlq.hotline', 'raw.sensor'].map(async (t) => [t, (await bus.describe(t))[0]!.highWatermark]),
        ),
      );
      // What cannot be masked stays in its place as an envelope of reason and scrubbed preview: one append per send.
      expect(ends).toEqual({ 'raw.hotline': 3, 'dlq.hotline': 0, 'raw.sensor': 1 });
      await bus.close();
      const files: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          if (e.isDirectory()) await walk(join(d, e.name));
          else files.push(join(d, e.name));
        }
      };
      await walk(join(dir.path, 'bus'));
      const bytes = Buffer.concat(await Promise.all(files.map((f) => readFile(f))));
      for (const clear of ['13812345678', '13912345678', '330106199001011234', '张三丰', '李四'])
        expect(bytes.includes(Buffer.from(clear))).toBe(false);
    } finally {
      await dir.remove();
    }
  });
});
