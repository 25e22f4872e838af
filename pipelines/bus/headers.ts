/**
 * Message headers: per-message metadata travelling beside key and value (Kafka's record headers), such as which
 * connector sent a message and where at the source it came from. Names and values are strings, UTF-8 on the wire.
 * The limits hold for every bus implementation, so a producer that works on the embedded log works on Kafka.
 */
import { InvalidHeadersError } from './errors.js';

export type MessageHeaders = Readonly<Record<string, string>>;

/** The headers of every message that has none: one shared frozen object, so reading such a message allocates nothing. */
export const NO_HEADERS: MessageHeaders = Object.freeze(Object.create(null) as Record<string, string>);

/** Most headers one message may carry. */
export const MAX_HEADER_COUNT = 64;
/** Most UTF-8 bytes of all names and values of one message together. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Bytes each header adds to its name and value on the wire (two u16 lengths), and the block's own length field. */
export const HEADER_ENTRY_OVERHEAD_BYTES = 4;
export const HEADER_BLOCK_OVERHEAD_BYTES = 4;

/** The id of the connector that sent the message (stamped by connectors/send.ts); the lake's `_source`. */
export const SOURCE_HEADER = 'cityhub-source';
/** On a copy `cityhub dlq replay` appended: the message whose dead letters it re-submits, `<topic>:<partition>:<offset>`. */
export const REPLAY_OF_HEADER = 'cityhub-replay-of';
/** On a copy `cityhub dlq replay` appended: the replay's id (how an interrupted replay finds what it appended). */
export const REPLAY_ID_HEADER = 'cityhub-replay-id';

/**
 * Checks a message's headers against the limits and returns the bytes of their block on the wire (0 when there are
 * none: `undefined` or an empty object), which count toward `bus.max_message_bytes`. Throws InvalidHeadersError.
 */
export function headerBlockBytes(headers: unknown, topic: string, index: number): number {
  if (headers === undefined) return 0;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidHeadersError(topic, index, undefined, 'expected an object of string values');
  }
  let count = 0;
  let textBytes = 0;
  for (const name in headers) {
    const value = (headers as Record<string, unknown>)[name];
    if (name.length === 0) throw new InvalidHeadersError(topic, index, name, 'a header name may not be empty');
    if (typeof value !== 'string')
      throw new InvalidHeadersError(topic, index, name, `value is ${typeof value}, not a string`);
    if (!name.isWellFormed() || !value.isWellFormed()) {
      throw new InvalidHeadersError(topic, index, name, 'not well-formed Unicode (a lone surrogate)');
    }
    if (++count > MAX_HEADER_COUNT) {
      throw new InvalidHeadersError(topic, index, undefined, `more than ${MAX_HEADER_COUNT} headers`);
    }
    textBytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
    if (textBytes > MAX_HEADER_BYTES) {
      throw new InvalidHeadersError(
        topic,
        index,
        undefined,
        `names and values exceed ${MAX_HEADER_BYTES} bytes of UTF-8 together`,
      );
    }
  }
  return count === 0 ? 0 : HEADER_BLOCK_OVERHEAD_BYTES + count * HEADER_ENTRY_OVERHEAD_BYTES + textBytes;
}
