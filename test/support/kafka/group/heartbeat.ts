/**
 * Heartbeat (api key 12), versions 0–3: keeps a member's session alive and tells it when to rejoin
 * (REBALANCE_IN_PROGRESS) or that its generation is gone (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID).
 *
 * Heartbeat Request (Version: 0–2) => group_id generation_id member_id
 * Heartbeat Request (Version: 3) => group_id generation_id member_id group_instance_id
 *   group_id => STRING
 *   generation_id => INT32
 *   member_id => STRING
 *   group_instance_id => NULLABLE_STRING
 *
 * Heartbeat Response (Version: 0) => error_code
 * Heartbeat Response (Version: 1–3) => throttle_time_ms error_code
 *   throttle_time_ms => INT32
 *   error_code => INT16
 */
import type { ApiHandler } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { GroupCoordinator, MemberRef } from './coordinator.js';

export function decodeHeartbeat(body: Reader, version: number): MemberRef {
  const groupId = body.string();
  const generationId = body.int32();
  const memberId = body.string();
  if (version >= 3) body.nullableString();
  return { groupId, generationId, memberId };
}

export function encodeHeartbeat(errorCode: number, version: number): Buffer {
  const out = new Writer();
  if (version >= 1) out.int32(0);
  return out.int16(errorCode).toBuffer();
}

export function heartbeatHandler(coordinator: GroupCoordinator): ApiHandler {
  return {
    apiKey: 12,
    name: 'Heartbeat',
    minVersion: 0,
    maxVersion: 3,
    handle(body, header) {
      return encodeHeartbeat(coordinator.heartbeat(decodeHeartbeat(body, header.apiVersion)), header.apiVersion);
    },
  };
}
