/**
 * FindCoordinator (api key 10), versions 0–2: this single broker coordinates every group (and would every
 * transaction), so the answer is always itself.
 *
 * FindCoordinator Request (Version: 0) => key
 *   key => STRING
 * FindCoordinator Request (Version: 1–2) => key key_type
 *   key => STRING
 *   key_type => INT8
 *
 * FindCoordinator Response (Version: 0) => error_code node_id host port
 *   error_code => INT16
 *   node_id => INT32
 *   host => STRING
 *   port => INT32
 * FindCoordinator Response (Version: 1–2) => throttle_time_ms error_code error_message node_id host port
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   error_message => NULLABLE_STRING
 *   node_id => INT32
 *   host => STRING
 *   port => INT32
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { Writer } from '../codec.js';

export interface CoordinatorNode {
  nodeId: number;
  host: string;
  /** A function: the port is known only once the server listens. */
  port: () => number;
}

export function findCoordinatorHandler(broker: CoordinatorNode): ApiHandler {
  return {
    apiKey: 10,
    name: 'FindCoordinator',
    minVersion: 0,
    maxVersion: 2,
    handle(body, header) {
      body.string();
      if (header.apiVersion >= 1) body.int8();
      const out = new Writer();
      if (header.apiVersion >= 1) out.int32(0);
      out.int16(ErrorCode.NONE);
      if (header.apiVersion >= 1) out.nullableString(null);
      return out.int32(broker.nodeId).string(broker.host).int32(broker.port()).toBuffer();
    },
  };
}
