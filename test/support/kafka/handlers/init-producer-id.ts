/**
 * InitProducerId (key 22), versions 0-1 (identical on the wire). From the Kafka protocol guide:
 *
 * InitProducerId Request (Version: 0) => transactional_id transaction_timeout_ms
 *   transactional_id => NULLABLE_STRING
 *   transaction_timeout_ms => INT32
 *
 * InitProducerId Response (Version: 0) => throttle_time_ms error_code producer_id producer_epoch
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   producer_id => INT64
 *   producer_epoch => INT16
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { Writer } from '../codec.js';
import type { BrokerState } from '../state.js';

export function initProducerIdHandler(state: BrokerState): ApiHandler {
  return {
    apiKey: 22,
    name: 'InitProducerId',
    minVersion: 0,
    maxVersion: 1,
    handle(body) {
      const transactionalId = body.nullableString();
      body.int32(); // transaction_timeout_ms: transactions are not served
      const { producerId, epoch } = state.allocateProducerId(transactionalId);
      return new Writer().int32(0).int16(ErrorCode.NONE).int64(producerId).int16(epoch).toBuffer();
    },
  };
}
