/**
 * The contract between the test broker's server and its request handlers, and the Kafka error codes they answer with.
 *
 * Versions served (all non-flexible: kafkajs 2.2.4 never sends the compact/tagged-field encodings, whose first versions
 * are ApiVersions v3, Metadata v9, Produce v9, Fetch v12, ListOffsets v6, CreateTopics v5, InitProducerId v2, so no
 * request or response here carries tagged fields and request header v1 / response header v0 are the only headers).
 * kafkajs uses min(its highest implemented version, the broker's max) and never looks at the broker's min, so each API
 * serves the version kafkajs 2.2.4 asks for plus the lower versions whose wire format is identical to it:
 *
 * | API            | key | versions | kafkajs uses | why the range                                            |
 * | -------------- | --- | -------- | ------------ | -------------------------------------------------------- |
 * | Produce        |  0  | 3–7      | 7            | requests identical since v3; v3–v4 answer without log_start_offset |
 * | Fetch          |  1  | 4–11     | 11           | kafkajs asks for 11; librdkafka needs 4 in range for v2 batches |
 * | ListOffsets    |  2  | 2–3      | 3            | v2 and v3 are identical on the wire                      |
 * | Metadata       |  3  | 1–6      | 6            | v5 = v6 on the wire; 1–4 for librdkafka (kcat), which asks for 4 |
 * | ApiVersions    | 18  | 0–2      | 2            | clients probe from their highest down; v0 is the fallback every client knows |
 * | CreateTopics   | 19  | 2–3      | 3            | v2 and v3 are identical on the wire                      |
 * | InitProducerId | 22  | 0–1      | 1            | v0 and v1 are identical on the wire                      |
 *
 * The consumer-group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch)
 * live in ./group/ and are plugged in as `extraHandlers`.
 */
import type { Reader } from './codec.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export interface BrokerConnection {
  id: number;
  clientHost: string;
}

/**
 * What a handler returns when the request expects no response (Produce with acks=0): the server writes nothing.
 * Compared by identity, so an empty body a handler builds itself is still sent.
 */
export const NO_RESPONSE: Buffer = Buffer.alloc(0);

export interface ApiHandler {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** Returns the response body, without the response header (the server adds the correlation id). */
  handle(body: Reader, header: RequestHeader, connection: BrokerConnection): Buffer | Promise<Buffer>;
}

/** The subset of Kafka's error codes the test broker answers with (numbers from the Kafka protocol guide). */
export const ErrorCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REQUEST: 42,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  MEMBER_ID_REQUIRED: 79,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
