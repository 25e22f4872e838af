/**
 * LeaveGroup (api key 13), versions 0–3: a member leaving starts a rebalance at once instead of after its session
 * timeout. v3 leaves several members in one request and answers per member.
 *
 * LeaveGroup Request (Version: 0–2) => group_id member_id
 * LeaveGroup Request (Version: 3) => group_id [members]
 *   group_id => STRING
 *   member_id => STRING
 *   members => member_id group_instance_id
 *     member_id => STRING
 *     group_instance_id => NULLABLE_STRING
 *
 * LeaveGroup Response (Version: 0) => error_code
 * LeaveGroup Response (Version: 1–2) => throttle_time_ms error_code
 * LeaveGroup Response (Version: 3) => throttle_time_ms error_code [members]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   members => member_id group_instance_id error_code
 *     member_id => STRING
 *     group_instance_id => NULLABLE_STRING
 *     error_code => INT16
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { GroupCoordinator } from './coordinator.js';

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  members: LeavingMember[];
}

export interface LeaveGroupResult {
  errorCode: number;
  members: (LeavingMember & { errorCode: number })[];
}

export function decodeLeaveGroup(body: Reader, version: number): LeaveGroupRequest {
  const groupId = body.string();
  if (version < 3) return { groupId, members: [{ memberId: body.string(), groupInstanceId: null }] };
  const members = body.array((r) => ({ memberId: r.string(), groupInstanceId: r.nullableString() })) ?? [];
  return { groupId, members };
}

export function encodeLeaveGroup(result: LeaveGroupResult, version: number): Buffer {
  const out = new Writer();
  if (version >= 1) out.int32(0);
  out.int16(result.errorCode);
  if (version >= 3) {
    out.array(result.members, (w, m) => {
      w.string(m.memberId).nullableString(m.groupInstanceId).int16(m.errorCode);
    });
  }
  return out.toBuffer();
}

export function leaveGroup(
  coordinator: GroupCoordinator,
  request: LeaveGroupRequest,
  version: number,
): LeaveGroupResult {
  const members = request.members.map((m) => ({
    ...m,
    errorCode: coordinator.leaveGroup(request.groupId, m.memberId),
  }));
  // Before v3 the one member's error is the request's error; from v3 errors are per member, as Kafka answers.
  const errorCode = version >= 3 ? ErrorCode.NONE : (members[0]?.errorCode ?? ErrorCode.NONE);
  return { errorCode, members };
}

export function leaveGroupHandler(coordinator: GroupCoordinator): ApiHandler {
  return {
    apiKey: 13,
    name: 'LeaveGroup',
    minVersion: 0,
    maxVersion: 3,
    handle(body, header) {
      const request = decodeLeaveGroup(body, header.apiVersion);
      return encodeLeaveGroup(leaveGroup(coordinator, request, header.apiVersion), header.apiVersion);
    },
  };
}
