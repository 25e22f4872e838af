/**
 * ListOffsets (key 2), versions 2-3 (identical on the wire). From the Kafka protocol guide:
 *
 * ListOffsets Request (Version: 2) => replica_id isolation_level [topics]
 *   replica_id => INT32
 *   isolation_level => INT8
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index timestamp
 *       partition_index => INT32
 *       timestamp => INT64
 *
 * ListOffsets Response (Version: 2) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code timestamp offset
 *       partition_index => INT32
 *       error_code => INT16
 *       timestamp => INT64
 *       offset => INT64
 *
 * timestamp -1 asks for the latest offset (the high watermark), -2 for the earliest (the log start offset); any other
 * value for the first batch whose max timestamp is at or after it (batch granularity: the broker never decodes records),
 * or offset -1 when there is none. Both isolation levels see the same offsets: there are no transactions.
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { BrokerState } from '../state.js';

const LATEST = -1n;
const EARLIEST = -2n;

interface OffsetAnswer {
  index: number;
  errorCode: number;
  timestamp: bigint;
  offset: bigint;
}

function lookUp(state: BrokerState, topic: string, r: Reader): OffsetAnswer {
  const index = r.int32();
  const timestamp = r.int64();
  const log = state.topics.partition(topic, index);
  if (log === undefined) return { index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, timestamp: -1n, offset: -1n };
  if (timestamp === LATEST) return { index, errorCode: ErrorCode.NONE, timestamp: -1n, offset: log.highWatermark };
  if (timestamp === EARLIEST) return { index, errorCode: ErrorCode.NONE, timestamp: -1n, offset: log.logStartOffset };
  const found = log.offsetForTimestamp(timestamp);
  return { index, errorCode: ErrorCode.NONE, timestamp: found?.timestamp ?? -1n, offset: found?.offset ?? -1n };
}

export function listOffsetsHandler(state: BrokerState): ApiHandler {
  return {
    apiKey: 2,
    name: 'ListOffsets',
    minVersion: 2,
    maxVersion: 3,
    handle(body) {
      body.int32(); // replica_id
      body.int8(); // isolation_level
      const topics =
        body.array((r) => {
          const name = r.string();
          return { name, partitions: r.array((r) => lookUp(state, name, r)) ?? [] };
        }) ?? [];
      return new Writer()
        .int32(0)
        .array(topics, (w, t) => {
          w.string(t.name).array(t.partitions, (w, p) => {
            w.int32(p.index).int16(p.errorCode).int64(p.timestamp).int64(p.offset);
          });
        })
        .toBuffer();
    },
  };
}
