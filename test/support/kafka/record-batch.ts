/**
 * Record batch v2 (magic 2) headers, read in place: the broker stores batches as received and only rewrites the
 * base offset, so it never decodes records (nor decompresses them).
 *
 * RecordBatch =>                           byte offset
 *   baseOffset => INT64                      0   assigned by the broker (outside the CRC)
 *   batchLength => INT32                     8   bytes after this field
 *   partitionLeaderEpoch => INT32           12   (outside the CRC)
 *   magic => INT8                           16   must be 2
 *   crc => UINT32                           17   CRC-32C of everything from attributes to the end
 *   attributes => INT16                     21   bits 0-2 compression, bit 4 transactional, bit 5 control
 *   lastOffsetDelta => INT32                23
 *   baseTimestamp => INT64                  27
 *   maxTimestamp => INT64                   35
 *   producerId => INT64                     43
 *   producerEpoch => INT16                  51
 *   baseSequence => INT32                   53
 *   records => [Record]                     57   (int32 count, then records, compressed as one block if compressed)
 *
 * Because the CRC starts at attributes, rewriting baseOffset (and partitionLeaderEpoch) keeps it valid.
 */
import { KafkaCodecError } from './codec.js';
import { crc32c } from './crc32c.js';

const HEADER_BYTES = 61;
const LENGTH_FIELD_END = 12;
const CRC_START = 21;

export interface RecordBatchHeader {
  /** The whole batch, a copy owned by the log (the request buffer is not kept). */
  bytes: Buffer;
  lastOffsetDelta: number;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  isTransactional: boolean;
}

/** A batch the broker refuses (wrong magic, bad CRC, lengths that do not add up): answered with CORRUPT_MESSAGE. */
export class CorruptBatchError extends KafkaCodecError {}

/** Splits a produce request's record set into batches, checks each, and copies them out of the request buffer. */
export function readBatches(recordSet: Buffer): RecordBatchHeader[] {
  const batches: RecordBatchHeader[] = [];
  let at = 0;
  while (at < recordSet.length) {
    if (recordSet.length - at < HEADER_BYTES) throw new CorruptBatchError('truncated batch header', at, HEADER_BYTES);
    const total = LENGTH_FIELD_END + recordSet.readInt32BE(at + 8);
    if (total < HEADER_BYTES || at + total > recordSet.length) {
      throw new CorruptBatchError('batch length outside the record set', at, total);
    }
    const bytes = Buffer.from(recordSet.subarray(at, at + total));
    batches.push(checkBatch(bytes, at));
    at += total;
  }
  return batches;
}

function checkBatch(bytes: Buffer, at: number): RecordBatchHeader {
  const magic = bytes.readInt8(16);
  if (magic !== 2) throw new CorruptBatchError(`unsupported record batch magic ${magic}`, at + 16, 0);
  if (bytes.readUInt32BE(17) !== crc32c(bytes.subarray(CRC_START))) {
    throw new CorruptBatchError('record batch CRC mismatch', at + 17, 0);
  }
  return {
    bytes,
    lastOffsetDelta: bytes.readInt32BE(23),
    maxTimestamp: bytes.readBigInt64BE(35),
    producerId: bytes.readBigInt64BE(43),
    producerEpoch: bytes.readInt16BE(51),
    baseSequence: bytes.readInt32BE(53),
    recordCount: bytes.readInt32BE(57),
    isTransactional: (bytes.readInt16BE(21) & 0x10) !== 0,
  };
}

export function setBaseOffset(batch: RecordBatchHeader, baseOffset: bigint): void {
  batch.bytes.writeBigInt64BE(baseOffset, 0);
}

export function baseOffsetOf(batch: RecordBatchHeader): bigint {
  return batch.bytes.readBigInt64BE(0);
}
