/**
 * OffsetCommit (api key 8), versions 0–5: a member commits only within its current generation (see ./coordinator.ts);
 * v0 commits come from outside group management and are accepted only while the group has no members.
 *
 * OffsetCommit Request (Version: 0) => group_id [topics]
 *   topics => name [partitions]
 *     partitions => partition_index committed_offset committed_metadata
 * OffsetCommit Request (Version: 1) => group_id generation_id member_id [topics]
 *   topics => name [partitions]
 *     partitions => partition_index committed_offset commit_timestamp committed_metadata
 * OffsetCommit Request (Version: 2–4) => group_id generation_id member_id retention_time_ms [topics]
 *   topics => name [partitions]
 *     partitions => partition_index committed_offset committed_metadata
 * OffsetCommit Request (Version: 5) => group_id generation_id member_id [topics]
 *   topics => name [partitions]
 *     partitions => partition_index committed_offset committed_metadata
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   retention_time_ms => INT64
 *   name => STRING
 *   partition_index => INT32
 *   committed_offset => INT64
 *   commit_timestamp => INT64
 *   committed_metadata => NULLABLE_STRING
 *
 * OffsetCommit Response (Version: 0–2) => [topics]
 * OffsetCommit Response (Version: 3–5) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
 *   topics => name [partitions]
 *     name => STRING
 *     partitions => partition_index error_code
 *       partition_index => INT32
 *       error_code => INT16
 */
import type { ApiHandler } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { GroupCoordinator, OffsetCommitRequest, PartitionError } from './coordinator.js';

export function decodeOffsetCommit(body: Reader, version: number): OffsetCommitRequest {
  const groupId = body.string();
  const generationId = version >= 1 ? body.int32() : -1;
  const memberId = version >= 1 ? body.string() : '';
  // Retention is the broker's business (and this broker forgets everything on stop): read past it.
  if (version >= 2 && version <= 4) body.int64();
  const topics =
    body.array((t) => ({
      topic: t.string(),
      partitions:
        t.array((p) => {
          const partition = p.int32();
          const offset = p.int64();
          if (version === 1) p.int64();
          return { partition, offset, metadata: p.nullableString() };
        }) ?? [],
    })) ?? [];
  return { groupId, generationId, memberId, topics };
}

export function encodeOffsetCommit(topics: PartitionError[], version: number): Buffer {
  const out = new Writer();
  if (version >= 3) out.int32(0);
  out.array(topics, (w, t) => {
    w.string(t.topic).array(t.partitions, (pw, p) => {
      pw.int32(p.partition).int16(p.errorCode);
    });
  });
  return out.toBuffer();
}

export function offsetCommitHandler(coordinator: GroupCoordinator): ApiHandler {
  return {
    apiKey: 8,
    name: 'OffsetCommit',
    minVersion: 0,
    maxVersion: 5,
    handle(body, header) {
      const result = coordinator.commitOffsets(decodeOffsetCommit(body, header.apiVersion));
      return encodeOffsetCommit(result, header.apiVersion);
    },
  };
}
