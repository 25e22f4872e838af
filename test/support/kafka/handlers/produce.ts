/**
 * Produce (key 0), versions 3-7 (requests identical; responses gain log_start_offset in v5). From the Kafka protocol
 * guide:
 *
 * Produce Request (Version: 3) => transactional_id acks timeout_ms [topic_data]
 *   transactional_id => NULLABLE_STRING
 *   acks => INT16
 *   timeout_ms => INT32
 *   topic_data => name [partition_data]
 *     name => STRING
 *     partition_data => index records
 *       index => INT32
 *       records => RECORDS
 *
 * Produce Response (Version: 5) => [responses] throttle_time_ms
 *   responses => name [partition_responses]
 *     name => STRING
 *     partition_responses => index error_code base_offset log_append_time_ms log_start_offset
 *       index => INT32
 *       error_code => INT16
 *       base_offset => INT64
 *       log_append_time_ms => INT64
 *       log_start_offset => INT64
 *   throttle_time_ms => INT32
 * (v3-v4 responses are the same without log_start_offset.)
 *
 * acks 0 gets no response at all; acks 1 and -1 are the same here, since there are no followers and memory is the
 * only durability. log_append_time_ms is -1: topics use CreateTime.
 */
import { type ApiHandler, ErrorCode, NO_RESPONSE } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { AppendResult } from '../log.js';
import { CorruptBatchError, readBatches } from '../record-batch.js';
import type { BrokerState } from '../state.js';

interface PartitionResult extends AppendResult {
  index: number;
}

function appendPartition(state: BrokerState, topic: string, r: Reader): PartitionResult {
  const index = r.int32();
  const records = r.bytes();
  const log = state.topics.partition(topic, index);
  if (log === undefined) return { index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1n };
  if (records === null) return { index, errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1n };
  try {
    return { index, ...log.append(readBatches(records)) };
  } catch (error) {
    if (error instanceof CorruptBatchError) return { index, errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1n };
    throw error;
  }
}

export function produceHandler(state: BrokerState): ApiHandler {
  return {
    apiKey: 0,
    name: 'Produce',
    minVersion: 3,
    maxVersion: 7,
    handle(body, header) {
      body.nullableString(); // transactional_id: transactions are not served
      const acks = body.int16();
      body.int32(); // timeout_ms: appends are immediate
      const topics =
        body.array((r) => {
          const name = r.string();
          return { name, partitions: r.array((r) => appendPartition(state, name, r)) ?? [] };
        }) ?? [];
      if (acks === 0) return NO_RESPONSE;
      const withLogStart = header.apiVersion >= 5;
      return new Writer()
        .array(topics, (w, topic) => {
          w.string(topic.name).array(topic.partitions, (w, p) => {
            w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(-1n);
            if (withLogStart) w.int64(state.topics.partition(topic.name, p.index)?.logStartOffset ?? -1n);
          });
        })
        .int32(0)
        .toBuffer();
    },
  };
}
