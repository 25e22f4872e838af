import { describe, expect, it } from 'vitest';
import { KafkaCodecError, Reader, Writer } from './codec.js';
import { crc32c } from './crc32c.js';

describe('Kafka wire codec', () => {
  it('round-trips every primitive, including zig-zag varints at their limits and nulls', () => {
    const bytes = new Writer()
      .int8(-5)
      .int16(-300)
      .int32(-70_000)
      .uint32(0xffff_fffe)
      .int64(-(2n ** 62n))
      .boolean(true)
      .varint(-1)
      .varint(2_147_483_647)
      .varint(-2_147_483_648)
      .varlong(-(2n ** 63n))
      .varlong(1234567890123n)
      .unsignedVarint(300)
      .string('人民广场')
      .nullableString(null)
      .bytes(Buffer.from([1, 2, 3]))
      .bytes(null)
      .array([1, 2], (w, v) => w.int32(v))
      .array(null, (w, v: number) => w.int32(v))
      .toBuffer();
    const r = new Reader(bytes);
    expect([r.int8(), r.int16(), r.int32(), r.uint32(), r.int64(), r.boolean()]).toEqual([
      -5,
      -300,
      -70_000,
      0xffff_fffe,
      -(2n ** 62n),
      true,
    ]);
    expect([r.varint(), r.varint(), r.varint(), r.varlong(), r.varlong(), r.unsignedVarint()]).toEqual([
      -1,
      2_147_483_647,
      -2_147_483_648,
      -(2n ** 63n),
      1234567890123n,
      300,
    ]);
    expect([r.string(), r.nullableString(), r.bytes(), r.bytes()]).toEqual([
      '人民广场',
      null,
      Buffer.from([1, 2, 3]),
      null,
    ]);
    expect([r.array((r) => r.int32()), r.array((r) => r.int32())]).toEqual([[1, 2], null]);
    expect(r.remaining()).toBe(0);
  });

  it('reads varints the way Kafka writes them (300 is 0xac 0x02; -1 is 0x01)', () => {
    expect(new Writer().unsignedVarint(300).toBuffer()).toEqual(Buffer.from([0xac, 0x02]));
    expect(new Reader(Buffer.from([0x01])).varint()).toBe(-1);
  });

  it('throws KafkaCodecError with the offset when a length points past the end', () => {
    const truncated = new Writer().int16(1).int16(10).raw(Buffer.from('abc')).toBuffer();
    const r = new Reader(truncated);
    r.int16();
    const error = (() => {
      try {
        r.string();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(KafkaCodecError);
    expect(error).toMatchObject({ offset: 4, needed: 10 });
    expect(() => new Reader(new Writer().int32(1_000_000).toBuffer()).array((r) => r.int8())).toThrow(KafkaCodecError);
  });

  it('computes CRC-32C (the check value of "123456789" is 0xe3069283)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});
