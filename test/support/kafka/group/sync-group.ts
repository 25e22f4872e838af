/**
 * SyncGroup (api key 14), versions 0–3. The leader sends every member's assignment; followers send none and wait for
 * theirs (see ./coordinator.ts).
 *
 * SyncGroup Request (Version: 0–2) => group_id generation_id member_id [assignments]
 * SyncGroup Request (Version: 3) => group_id generation_id member_id group_instance_id [assignments]
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *   assignments => member_id assignment
 *     member_id => STRING
 *     assignment => BYTES
 *
 * SyncGroup Response (Version: 0) => error_code assignment
 * SyncGroup Response (Version: 1–3) => throttle_time_ms error_code assignment
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   assignment => BYTES
 */
import type { ApiHandler } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { GroupCoordinator, SyncGroupRequest, SyncGroupResult } from './coordinator.js';

export function decodeSyncGroup(body: Reader, version: number): SyncGroupRequest {
  const groupId = body.string();
  const generationId = body.int32();
  const memberId = body.string();
  if (version >= 3) body.nullableString();
  const assignments = body.array((r) => ({ memberId: r.string(), assignment: r.bytes() ?? Buffer.alloc(0) })) ?? [];
  return { groupId, generationId, memberId, assignments };
}

export function encodeSyncGroup(result: SyncGroupResult, version: number): Buffer {
  const out = new Writer();
  if (version >= 1) out.int32(0);
  return out.int16(result.errorCode).bytes(result.assignment).toBuffer();
}

export function syncGroupHandler(coordinator: GroupCoordinator): ApiHandler {
  return {
    apiKey: 14,
    name: 'SyncGroup',
    minVersion: 0,
    maxVersion: 3,
    async handle(body, header) {
      const result = await coordinator.syncGroup(decodeSyncGroup(body, header.apiVersion));
      return encodeSyncGroup(result, header.apiVersion);
    },
  };
}
