/**
 * CreateTopics (key 19), versions 2-3 (identical on the wire). From the Kafka protocol guide:
 *
 * CreateTopics Request (Version: 2) => [topics] timeout_ms validate_only
 *   topics => name num_partitions replication_factor [assignments] [configs]
 *     name => STRING
 *     num_partitions => INT32
 *     replication_factor => INT16
 *     assignments => partition_index [broker_ids]
 *       partition_index => INT32
 *       broker_ids => INT32
 *     configs => name value
 *       name => STRING
 *       value => NULLABLE_STRING
 *   timeout_ms => INT32
 *   validate_only => BOOLEAN
 *
 * CreateTopics Response (Version: 2) => throttle_time_ms [topics]
 *   throttle_time_ms => INT32
 *   topics => name error_code error_message
 *     name => STRING
 *     error_code => INT16
 *     error_message => NULLABLE_STRING
 *
 * Single node: replication factor must be 1 (or -1, the default). Config entries are kept on the topic, not enforced.
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { BrokerState } from '../state.js';

const INVALID_REPLICATION_FACTOR = 38;
const DEFAULT_PARTITIONS = 1;

interface TopicRequest {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignedPartitions: number;
  configs: Map<string, string | null>;
}

interface TopicResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

function readTopic(r: Reader): TopicRequest {
  const name = r.string();
  const numPartitions = r.int32();
  const replicationFactor = r.int16();
  const assignments = r.array((r) => [r.int32(), r.array((r) => r.int32())]) ?? [];
  const configs = new Map((r.array((r) => [r.string(), r.nullableString()] as const) ?? []).map(([k, v]) => [k, v]));
  return { name, numPartitions, replicationFactor, assignedPartitions: assignments.length, configs };
}

function createTopic(state: BrokerState, request: TopicRequest, validateOnly: boolean): TopicResult {
  const fail = (errorCode: number, errorMessage: string) => ({ name: request.name, errorCode, errorMessage });
  if (state.topics.get(request.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${request.name} exists`);
  const partitions =
    request.assignedPartitions > 0
      ? request.assignedPartitions
      : request.numPartitions === -1
        ? DEFAULT_PARTITIONS
        : request.numPartitions;
  if (partitions < 1) return fail(ErrorCode.INVALID_PARTITIONS, `num_partitions must be at least 1`);
  if (request.replicationFactor !== -1 && request.replicationFactor !== 1) {
    return fail(INVALID_REPLICATION_FACTOR, 'the test broker is a single node: replication factor must be 1');
  }
  if (!validateOnly) state.topics.create(request.name, partitions, request.configs);
  return { name: request.name, errorCode: ErrorCode.NONE, errorMessage: null };
}

export function createTopicsHandler(state: BrokerState): ApiHandler {
  return {
    apiKey: 19,
    name: 'CreateTopics',
    minVersion: 2,
    maxVersion: 3,
    handle(body) {
      const topics = body.array(readTopic) ?? [];
      body.int32(); // timeout_ms: creation is immediate in memory
      const validateOnly = body.boolean();
      const results = topics.map((t) => createTopic(state, t, validateOnly));
      return new Writer()
        .int32(0)
        .array(results, (w, t) => w.string(t.name).int16(t.errorCode).nullableString(t.errorMessage))
        .toBuffer();
    },
  };
}
