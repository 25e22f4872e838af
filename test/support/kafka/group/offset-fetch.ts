/**
 * OffsetFetch (api key 9), versions 1–4: the group's committed offsets, -1 (with empty metadata and no error) for a
 * partition never committed. From v2 a null topic list asks for every partition the group committed. v0 is not
 * served: it read offsets kept in ZooKeeper, which no client of this broker uses.
 *
 * OffsetFetch Request (Version: 1) => group_id [topics]
 * OffsetFetch Request (Version: 2–4) => group_id [topics]   (topics nullable)
 *   group_id => STRING
 *   topics => name [partition_indexes]
 *     name => STRING
 *     partition_indexes => INT32
 *
 * OffsetFetch Response (Version: 1) => [topics]
 * OffsetFetch Response (Version: 2) => [topics] error_code
 * OffsetFetch Response (Version: 3–4) => throttle_time_ms [topics] error_code
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index committed_offset metadata error_code
 *       partition_index => INT32
 *       committed_offset => INT64
 *       metadata => NULLABLE_STRING
 *       error_code => INT16
 *   error_code => INT16
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { FetchedOffsets, GroupCoordinator } from './coordinator.js';
import type { TopicPartitions } from './offsets.js';

export interface OffsetFetchRequest {
  groupId: string;
  topics: TopicPartitions[] | null;
}

export function decodeOffsetFetch(body: Reader, version: number): OffsetFetchRequest {
  const groupId = body.string();
  const topics = body.array((t) => ({ topic: t.string(), partitions: t.array((p) => p.int32()) ?? [] }));
  // v1 has no null list: a null there is an empty one.
  return { groupId, topics: topics === null && version < 2 ? [] : topics };
}

export function encodeOffsetFetch(topics: FetchedOffsets[], version: number): Buffer {
  const out = new Writer();
  if (version >= 3) out.int32(0);
  out.array(topics, (w, t) => {
    w.string(t.topic).array(t.partitions, (pw, p) => {
      pw.int32(p.partition).int64(p.offset).nullableString(p.metadata).int16(p.errorCode);
    });
  });
  if (version >= 2) out.int16(ErrorCode.NONE);
  return out.toBuffer();
}

export function offsetFetchHandler(coordinator: GroupCoordinator): ApiHandler {
  return {
    apiKey: 9,
    name: 'OffsetFetch',
    minVersion: 1,
    maxVersion: 4,
    handle(body, header) {
      const request = decodeOffsetFetch(body, header.apiVersion);
      return encodeOffsetFetch(coordinator.fetchOffsets(request.groupId, request.topics), header.apiVersion);
    },
  };
}
