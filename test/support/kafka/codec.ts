/**
 * Kafka wire primitives (big-endian fixed ints, zig-zag varints, int16/int32 length-prefixed strings, bytes and
 * arrays) for the test broker. Only the non-flexible encodings: kafkajs 2.x never sends compact/tagged fields.
 */
import { CityhubError } from '../../../pipelines/errors.js';

/** A request or batch that is shorter than its own lengths say: the connection is answered or closed, never trusted. */
export class KafkaCodecError extends CityhubError {
  readonly offset: number;
  readonly needed: number;
  constructor(message: string, offset: number, needed: number) {
    super(`${message} at offset ${offset} (needs ${needed} more bytes)`);
    this.offset = offset;
    this.needed = needed;
  }
}

export class Reader {
  offset: number;
  private readonly buf: Buffer;

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }

  remaining(): number {
    return this.buf.length - this.offset;
  }

  /** Advances past `n` bytes and returns where they started, or throws before reading past the end. */
  private take(n: number, what: string): number {
    if (n < 0 || this.offset + n > this.buf.length) throw new KafkaCodecError(`truncated ${what}`, this.offset, n);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.take(1, 'int8'));
  }
  int16(): number {
    return this.buf.readInt16BE(this.take(2, 'int16'));
  }
  int32(): number {
    return this.buf.readInt32BE(this.take(4, 'int32'));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.take(4, 'uint32'));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.take(8, 'int64'));
  }
  boolean(): boolean {
    return this.int8() !== 0;
  }

  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.buf.readUInt8(this.take(1, 'varint'));
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new KafkaCodecError('varint longer than 5 bytes', this.offset, 0);
  }
  varint(): number {
    const raw = this.unsignedVarint();
    return (raw >>> 1) ^ -(raw & 1);
  }
  varlong(): bigint {
    let raw = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.buf.readUInt8(this.take(1, 'varlong'));
      raw |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (raw >> 1n) ^ -(raw & 1n);
    }
    throw new KafkaCodecError('varlong longer than 10 bytes', this.offset, 0);
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) throw new KafkaCodecError('null where a string is required', this.offset - 2, 0);
    return value;
  }
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const at = this.take(length, 'string');
    return this.buf.toString('utf8', at, at + length);
  }
  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    return this.raw(length);
  }
  array<T>(item: (r: Reader) => T): T[] | null {
    const count = this.int32();
    if (count < 0) return null;
    // Each item takes at least one byte: a huge count in a short buffer is a lie, not an allocation to make.
    if (count > this.remaining()) throw new KafkaCodecError('array count exceeds the request', this.offset - 4, count);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(item(this));
    return items;
  }
  /** A view, not a copy: callers that keep it beyond the request must copy. */
  raw(n: number): Buffer {
    const at = this.take(n, 'bytes');
    return this.buf.subarray(at, at + n);
  }
}

export class Writer {
  private readonly chunks: Buffer[] = [];

  private fixed(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(size);
    write(b);
    this.chunks.push(b);
    return this;
  }

  int8(v: number): this {
    return this.fixed(1, (b) => b.writeInt8(v));
  }
  int16(v: number): this {
    return this.fixed(2, (b) => b.writeInt16BE(v));
  }
  int32(v: number): this {
    return this.fixed(4, (b) => b.writeInt32BE(v));
  }
  uint32(v: number): this {
    return this.fixed(4, (b) => b.writeUInt32BE(v));
  }
  int64(v: bigint): this {
    return this.fixed(8, (b) => b.writeBigInt64BE(v));
  }
  boolean(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  unsignedVarint(v: number): this {
    const bytes: number[] = [];
    let rest = v >>> 0;
    while (rest > 0x7f) {
      bytes.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    bytes.push(rest);
    return this.raw(Buffer.from(bytes));
  }
  varint(v: number): this {
    return this.unsignedVarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: bigint): this {
    let rest = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    const bytes: number[] = [];
    while (rest > 0x7fn) {
      bytes.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    bytes.push(Number(rest));
    return this.raw(Buffer.from(bytes));
  }

  string(v: string): this {
    return this.nullableString(v);
  }
  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    const encoded = Buffer.from(v, 'utf8');
    return this.int16(encoded.length).raw(encoded);
  }
  bytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }
  array<T>(items: T[] | null, item: (w: Writer, v: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }
  raw(b: Buffer): this {
    this.chunks.push(b);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
