import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordsOf } from '../bus/record-run.js';
import { keyedHash } from '../privacy/keyed-hash.js';
import { scrubAll as scrubText } from '../privacy/masker.js';

const hashPersonal = (key: string, phone: string) => keyedHash({ id: '1', key }, phone);

import { type NormalizedMessage, Normalizer, type NormalizerOptions } from './normalizer.js';

/**
 * The 12345 hotline feed carries the caller's name and phone in clear. docs/feeds.md: both are dropped before
 * anything is logged or landed; only caller_hash (salted SHA-256 of the phone) remains.
 */

const PHONE = '13812345678';
const NAME = '张三';

const order = {
  orderNo: '12345-202608010001',
  acceptTime: '2026-08-01 09:12:33',
  channel: '电话',
  type: '投诉',
  category: '城市管理/市容环境/暴露垃圾',
  street: '330106',
  dept: 'CG-330106',
  state: '办结',
  replyTime: '2026-08-01 10:02:00',
  finishTime: '2026-08-02 16:00:00',
  deadline: '2026-08-04 09:12:33',
  visit: { contacted: true, resolved: true, satisfaction: '满意' },
  caller: { name: NAME, phone: PHONE },
};

function hotline(overrides: Partial<NormalizerOptions> = {}): Normalizer {
  return new Normalizer('hotline', {
    salt: 'hangzhou-12345-salt',
    regionCodes: new Set(['330000', '330100', '330106']),
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => Date.parse('2026-08-05T12:00:00+08:00'),
    ...overrides,
  });
}

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function callerHash(message: NormalizedMessage): string {
  return message.rows[0]?.row.caller_hash as string;
}

/** Nothing of the message — rows, dead letters' raw text and reasons — may carry the clear name or phone. */
function expectNoPersonalData(message: NormalizedMessage, clear: string[] = [PHONE, NAME]): void {
  const everything = JSON.stringify(message);
  for (const text of clear) expect(everything).not.toContain(text);
}

describe('caller_hash', () => {
  it('replaces the phone by a 64-hex salted SHA-256 and drops the name from the landed row', () => {
    const out = hotline().normalize(bytes(order));
    expect(out.landed).toBe(1);
    expect(callerHash(out)).toMatch(/^[0-9a-f]{64}$/);
    expect(callerHash(out)).toBe(hashPersonal('hangzhou-12345-salt', PHONE));
    expectNoPersonalData(out);
  });

  it('is stable for the same caller and salt, so repeat callers can be counted', () => {
    const first = hotline().normalize(bytes(order));
    const second = hotline().normalize(bytes({ ...order, orderNo: '12345-202608010417', type: '求助' }));
    expect(callerHash(second)).toBe(callerHash(first));
  });

  it('differs under another salt, so hashes cannot be joined across hubs without the salt', () => {
    const a = hotline().normalize(bytes(order));
    const b = hotline({ salt: 'ningbo-12345-salt' }).normalize(bytes(order));
    expect(callerHash(b)).not.toBe(callerHash(a));
  });

  it('is not the plain unsalted SHA-256 of the phone (which a phone-number table would reverse)', () => {
    const unsalted = createHash('sha256').update(PHONE).digest('hex');
    expect(callerHash(hotline().normalize(bytes(order)))).not.toBe(unsalted);
  });

  it('treats the same number written with spaces or dashes as the same caller', () => {
    const plain = callerHash(hotline().normalize(bytes(order)));
    for (const phone of ['138 1234 5678', '138-1234-5678']) {
      const out = hotline().normalize(
        bytes({ ...order, orderNo: `12345-${phone.length}`, caller: { name: NAME, phone } }),
      );
      expect(callerHash(out)).toBe(plain);
    }
  });

  it('accepts a phone sent as a JSON number', () => {
    const out = hotline().normalize(bytes({ ...order, caller: { name: NAME, phone: 13812345678 } }));
    expect(callerHash(out)).toBe(hashPersonal('hangzhou-12345-salt', PHONE));
  });
});

describe('dead letters of the hotline feed keep no clear name or phone', () => {
  const text = JSON.stringify(order);

  it.each<[string, string | Buffer, string]>([
    ['fails schema validation (unknown channel 传真)', bytes({ ...order, channel: '传真' }), 'invalid'],
    ['has no caller phone at all', bytes({ ...order, caller: { name: NAME } }), 'invalid'],
    ['has an impossible accept time', bytes({ ...order, acceptTime: '2026-02-30 09:12:33' }), 'implausible_time'],
    ['names a street outside the catalog', bytes({ ...order, street: '339999' }), 'unknown_region'],
    ['is cut off mid-message (malformed JSON)', text.slice(0, -1), 'malformed_json'],
    ['has a trailing comma (malformed JSON)', `${text.slice(0, -1)},}`, 'malformed_json'],
    ['is a JSON array instead of an object', JSON.stringify([order.orderNo, NAME, PHONE]), 'invalid'],
  ])('when the payload %s', (_, payload, reason) => {
    const out = hotline().normalize(typeof payload === 'string' ? bytes(payload) : payload);
    expect(out.received).toBe(out.landed + out.deadLetters.length);
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual([reason]);
    expectNoPersonalData(out);
  });

  it('keeps the rest of a parsed payload readable, with the phone only as its hash', () => {
    const out = hotline().normalize(bytes({ ...order, channel: '传真' }));
    const raw = JSON.parse(out.deadLetters[0]!.raw);
    expect(raw).toMatchObject({
      orderNo: '12345-202608010001',
      channel: '传真',
      category: '城市管理/市容环境/暴露垃圾',
      caller: { phone: `hmac-sha256:1:${hashPersonal('hangzhou-12345-salt', PHONE)}`, name: '[name]' },
    });
    expect(out.deadLetters[0]!.issues[0]).toMatchObject({ path: 'channel', message: expect.stringContaining('phone') });
  });

  it('when the payload is malformed JSON around an unquoted name (the parser error quotes its context)', () => {
    // A vendor that forgets to quote the caller's name: V8's JSON.parse message echoes the text around the error.
    const payload = text.replace(`"name":"${NAME}"`, `"name":${NAME}`);
    const out = hotline().normalize(bytes(payload));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['malformed_json']);
    expectNoPersonalData(out);
  });

  it('when a malformed payload writes the phone with spaces ("138 1234 5678")', () => {
    const spaced = JSON.stringify({ ...order, caller: { name: NAME, phone: '138 1234 5678' } });
    const out = hotline().normalize(bytes(spaced.slice(0, -1)));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['malformed_json']);
    expectNoPersonalData(out, ['138 1234 5678', NAME]);
  });

  it('when the payload is oversized', () => {
    const huge = JSON.stringify({ ...order, content: `市民反映：${'西湖边垃圾桶满溢，'.repeat(400)}` });
    const out = hotline({ maxPayloadBytes: 4096 }).normalize(bytes(huge));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['oversized']);
    expectNoPersonalData(out);
  });

  it('when the same order snapshot arrives twice (duplicate)', () => {
    const n = hotline();
    n.normalize(bytes(order));
    const out = n.normalize(bytes(order));
    expect(out.deadLetters.map((d) => d.reason_code)).toEqual(['duplicate']);
    expectNoPersonalData(out);
  });

  it("when the bulk path finds the duplicate: the record path's dead letter, masked field by field", () => {
    const recordPath = hotline();
    recordPath.normalize(bytes(order));
    const expected = recordPath.normalize(bytes(order));
    const bulkPath = hotline();
    const run = (value: Buffer) =>
      recordsOf({
        topic: 'raw.hotline',
        partition: 0,
        highWatermark: 1,
        messages: [{ topic: 'raw.hotline', partition: 0, offset: 0, key: null, value, timestamp: 0, headers: {} }],
      });
    expect(bulkPath.bulkRow('hotline_case', 'k', run(bytes(order)), 0)).toBeUndefined();
    const out = bulkPath.bulkRow('hotline_case', 'k', run(bytes(order)), 0)!;
    expect(out).toEqual(expected);
    expectNoPersonalData(out);
    // Bytes JSON.parse refuses (never expected there): the record path's own verdict, scrubbed.
    const broken = Buffer.from(`{"caller":{"phone":"${PHONE}"},`);
    bulkPath.bulkRow('hotline_case', 'broken', run(broken), 0);
    const refused = bulkPath.bulkRow('hotline_case', 'broken', run(broken), 0)!;
    expect(refused).toEqual(hotline().normalize(broken));
    expectNoPersonalData(refused);
  });
});

describe('scrubText', () => {
  it('masks long digit runs and CJK characters but keeps the structure readable', () => {
    expect(scrubText('{"caller":{"name":"张三","phone":"13812345678"},"street":"330106"}')).toBe(
      '{"caller":{"name":"＊＊","phone":"###########"},"street":"330106"}',
    );
  });
});
