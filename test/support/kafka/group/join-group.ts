/**
 * JoinGroup (api key 11), versions 0–5. The answer may wait: until every known member rejoined or the rebalance
 * timeout passed (see ./coordinator.ts). From v4 a first join is answered MEMBER_ID_REQUIRED with the id to use.
 *
 * JoinGroup Request (Version: 0) => group_id session_timeout_ms member_id protocol_type [protocols]
 * JoinGroup Request (Version: 1–4) => group_id session_timeout_ms rebalance_timeout_ms member_id protocol_type [protocols]
 * JoinGroup Request (Version: 5) => group_id session_timeout_ms rebalance_timeout_ms member_id group_instance_id protocol_type [protocols]
 *   group_id => STRING
 *   session_timeout_ms => INT32
 *   rebalance_timeout_ms => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *   protocol_type => STRING
 *   protocols => name metadata
 *     name => STRING
 *     metadata => BYTES
 *
 * JoinGroup Response (Version: 0–1) => error_code generation_id protocol_name leader member_id [members]
 * JoinGroup Response (Version: 2–4) => throttle_time_ms error_code generation_id protocol_name leader member_id [members]
 *   members => member_id metadata
 * JoinGroup Response (Version: 5) => throttle_time_ms error_code generation_id protocol_name leader member_id [members]
 *   members => member_id group_instance_id metadata
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   generation_id => INT32
 *   protocol_name => STRING
 *   leader => STRING
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *   metadata => BYTES
 */
import type { ApiHandler } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { GroupCoordinator, GroupProtocol, JoinGroupRequest, JoinGroupResult } from './coordinator.js';

export function decodeJoinGroup(
  body: Reader,
  version: number,
  client: { clientId: string; clientHost: string },
): JoinGroupRequest {
  const groupId = body.string();
  const sessionTimeoutMs = body.int32();
  // v0 has no rebalance timeout: Kafka uses the session timeout in its place.
  const rebalanceTimeoutMs = version >= 1 ? body.int32() : sessionTimeoutMs;
  const memberId = body.string();
  const groupInstanceId = version >= 5 ? body.nullableString() : null;
  const protocolType = body.string();
  const protocols =
    body.array<GroupProtocol>((r) => ({
      name: r.string(),
      // Copied: the member keeps its metadata across requests, the request buffer is not ours to keep.
      metadata: Buffer.from(r.bytes() ?? Buffer.alloc(0)),
    })) ?? [];
  return {
    groupId,
    memberId,
    groupInstanceId,
    clientId: client.clientId,
    clientHost: client.clientHost,
    sessionTimeoutMs,
    rebalanceTimeoutMs,
    protocolType,
    protocols,
    requireKnownMemberId: version >= 4,
  };
}

export function encodeJoinGroup(result: JoinGroupResult, version: number): Buffer {
  const out = new Writer();
  if (version >= 2) out.int32(0);
  out
    .int16(result.errorCode)
    .int32(result.generationId)
    .string(result.protocolName)
    .string(result.leaderId)
    .string(result.memberId)
    .array(result.members, (w, m) => {
      w.string(m.memberId);
      if (version >= 5) w.nullableString(m.groupInstanceId);
      w.bytes(m.metadata);
    });
  return out.toBuffer();
}

export function joinGroupHandler(coordinator: GroupCoordinator): ApiHandler {
  return {
    apiKey: 11,
    name: 'JoinGroup',
    minVersion: 0,
    maxVersion: 5,
    async handle(body, header, connection) {
      const request = decodeJoinGroup(body, header.apiVersion, {
        clientId: header.clientId ?? '',
        clientHost: connection.clientHost,
      });
      return encodeJoinGroup(await coordinator.joinGroup(request), header.apiVersion);
    },
  };
}
