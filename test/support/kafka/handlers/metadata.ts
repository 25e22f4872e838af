/**
 * Metadata (key 3), versions 1-6: kafkajs asks for 6 (identical to 5 on the wire); librdkafka 2.0 (kcat) for 4, so
 * the lower versions are served too. From the Kafka protocol guide, version 5, and what the earlier ones lack:
 *
 * Metadata Request (Version: 5) => [topics] allow_auto_topic_creation
 *   topics => name
 *     name => STRING
 *   allow_auto_topic_creation => BOOLEAN
 *
 * Metadata Response (Version: 5) => throttle_time_ms [brokers] cluster_id controller_id [topics]
 *   throttle_time_ms => INT32
 *   brokers => node_id host port rack
 *     node_id => INT32
 *     host => STRING
 *     port => INT32
 *     rack => NULLABLE_STRING
 *   cluster_id => NULLABLE_STRING
 *   controller_id => INT32
 *   topics => error_code name is_internal [partitions]
 *     error_code => INT16
 *     name => STRING
 *     is_internal => BOOLEAN
 *     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes] [offline_replicas]
 *       error_code => INT16
 *       partition_index => INT32
 *       leader_id => INT32
 *       replica_nodes => INT32
 *       isr_nodes => INT32
 *       offline_replicas => INT32
 *
 * Versions 1-3 have no allow_auto_topic_creation in the request (creation is then allowed); versions 1-2 no
 * throttle_time_ms, version 1 no cluster_id, versions 1-4 no offline_replicas.
 *
 * A null topic list means all topics. One node (id 0) leads every partition and is the controller. Unknown topics are
 * created (one partition) only when the broker was started with auto-creation on AND the request allows it.
 */
import { type ApiHandler, ErrorCode } from '../api.js';
import { Writer } from '../codec.js';
import type { Topic } from '../log.js';
import type { BrokerState } from '../state.js';

export function metadataHandler(state: BrokerState): ApiHandler {
  return {
    apiKey: 3,
    name: 'Metadata',
    minVersion: 1,
    maxVersion: 6,
    handle(body, header) {
      const version = header.apiVersion;
      const requested = body.array((r) => r.string());
      const allowAutoCreate = version >= 4 ? body.boolean() : true;
      const topics: Array<Topic | string> =
        requested === null
          ? state.topics.all()
          : requested.map((name) => {
              const known = state.topics.get(name);
              if (known) return known;
              return state.autoCreateTopics && allowAutoCreate ? state.topics.create(name, 1) : name;
            });
      const me = [state.nodeId];
      const out = new Writer();
      if (version >= 3) out.int32(0);
      out.array([state], (w) => w.int32(state.nodeId).string(state.host).int32(state.port).nullableString(null));
      if (version >= 2) out.nullableString(state.clusterId);
      return out
        .int32(state.nodeId)
        .array(topics, (w, topic) => {
          if (typeof topic === 'string') {
            w.int16(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
              .string(topic)
              .boolean(false)
              .array([], () => {});
            return;
          }
          w.int16(ErrorCode.NONE).string(topic.name).boolean(false);
          w.array(
            topic.partitions.map((_log, index) => index),
            (w, index) => {
              w.int16(ErrorCode.NONE).int32(index).int32(state.nodeId);
              w.array(me, (w, id) => w.int32(id)).array(me, (w, id) => w.int32(id));
              if (version >= 5) w.array([], () => {});
            },
          );
        })
        .toBuffer();
    },
  };
}
