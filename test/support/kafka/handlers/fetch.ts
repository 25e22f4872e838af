/**
 * Fetch (key 1), versions 4-11: kafkajs 2.2.4 asks for 11; librdkafka (kcat) uses the v2 record batch only when the
 * broker's Fetch range includes 4. From the Kafka protocol guide, version 11, and what the earlier ones lack:
 *
 * Fetch Request (Version: 11) => replica_id max_wait_ms min_bytes max_bytes isolation_level session_id session_epoch
 *                                [topics] [forgotten_topics_data] rack_id
 *   replica_id => INT32
 *   max_wait_ms => INT32
 *   min_bytes => INT32
 *   max_bytes => INT32
 *   isolation_level => INT8
 *   session_id => INT32
 *   session_epoch => INT32
 *   topics => topic [partitions]
 *     topic => STRING
 *     partitions => partition current_leader_epoch fetch_offset log_start_offset partition_max_bytes
 *       partition => INT32
 *       current_leader_epoch => INT32
 *       fetch_offset => INT64
 *       log_start_offset => INT64
 *       partition_max_bytes => INT32
 *   forgotten_topics_data => topic [partitions]
 *     topic => STRING
 *     partitions => INT32
 *   rack_id => STRING
 *
 * Fetch Response (Version: 11) => throttle_time_ms error_code session_id [responses]
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   session_id => INT32
 *   responses => topic [partitions]
 *     topic => STRING
 *     partitions => partition_index error_code high_watermark last_stable_offset log_start_offset
 *                   [aborted_transactions] preferred_read_replica records
 *       partition_index => INT32
 *       error_code => INT16
 *       high_watermark => INT64
 *       last_stable_offset => INT64
 *       log_start_offset => INT64
 *       aborted_transactions => producer_id first_offset
 *         producer_id => INT64
 *         first_offset => INT64
 *       preferred_read_replica => INT32
 *       records => RECORDS
 *
 * Request: v4-v6 have no session_id, session_epoch nor forgotten_topics_data; v4 no log_start_offset per partition;
 * v4-v8 no current_leader_epoch; v4-v10 no rack_id. Response: v4-v6 no error_code nor session_id; v4 no
 * log_start_offset per partition; v4-v10 no preferred_read_replica.
 *
 * No fetch sessions (KIP-227): every fetch is a full one and the answer's session_id is 0, which tells the client no
 * session was created. Whole stored batches are returned; the first batch of the response comes back even when larger
 * than the byte limits (KIP-74). With less than min_bytes available the request waits, up to max_wait_ms, for the log
 * to grow: an event, not a poll.
 */
import { once } from 'node:events';
import { abortAfter } from '../../../../pipelines/abort-after.js';
import { type ApiHandler, ErrorCode } from '../api.js';
import { type Reader, Writer } from '../codec.js';
import type { BrokerState } from '../state.js';

interface PartitionFetch {
  index: number;
  fetchOffset: bigint;
  maxBytes: number;
}

interface TopicFetch {
  name: string;
  partitions: PartitionFetch[];
}

interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: TopicFetch[];
}

function readRequest(body: Reader, version: number): FetchRequest {
  body.int32(); // replica_id: consumers only
  const maxWaitMs = body.int32();
  const minBytes = body.int32();
  const maxBytes = body.int32();
  body.int8(); // isolation_level: no transactions, so read_committed sees what read_uncommitted sees
  if (version >= 7) {
    body.int32(); // session_id
    body.int32(); // session_epoch
  }
  const topics =
    body.array((r) => ({
      name: r.string(),
      partitions:
        r.array((r) => {
          const index = r.int32();
          if (version >= 9) r.int32(); // current_leader_epoch
          const fetchOffset = r.int64();
          if (version >= 5) r.int64(); // log_start_offset: followers only
          return { index, fetchOffset, maxBytes: r.int32() };
        }) ?? [],
    })) ?? [];
  // forgotten_topics_data and rack_id only matter to fetch sessions and rack-aware replicas: read past, not used.
  if (version >= 7) body.array((r) => [r.string(), r.array((r) => r.int32())]);
  if (version >= 11) body.string();
  return { maxWaitMs, minBytes, maxBytes, topics };
}

/** One pass over the log: the encoded response body and how many record bytes it carries. */
function collect(
  state: BrokerState,
  request: FetchRequest,
  version: number,
): { body: Buffer; recordBytes: number; failed: boolean } {
  let recordBytes = 0;
  let failed = false;
  const w = new Writer().int32(0);
  if (version >= 7) w.int16(ErrorCode.NONE).int32(0);
  // After high_watermark: last_stable_offset, log_start_offset (v5+), no aborted transactions, preferred replica (v11+).
  const offsets = (w: Writer, highWatermark: bigint, logStart: bigint) => {
    w.int64(highWatermark);
    if (version >= 5) w.int64(logStart);
    w.array([], () => {});
    if (version >= 11) w.int32(-1);
  };
  w.array(request.topics, (w, topic) => {
    w.string(topic.name).array(topic.partitions, (w, p) => {
      const log = state.topics.partition(topic.name, p.index);
      if (log === undefined || p.fetchOffset < log.logStartOffset || p.fetchOffset > log.highWatermark) {
        failed = true;
        const errorCode = log === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OFFSET_OUT_OF_RANGE;
        const hw = log?.highWatermark ?? -1n;
        const start = log?.logStartOffset ?? -1n;
        w.int32(p.index).int16(errorCode).int64(hw);
        offsets(w, hw, start);
        w.bytes(null);
        return;
      }
      const budget = Math.min(p.maxBytes, request.maxBytes - recordBytes);
      const read = log.read(p.fetchOffset, Math.max(budget, 0), recordBytes === 0);
      recordBytes += read.bytes;
      w.int32(p.index).int16(ErrorCode.NONE).int64(log.highWatermark);
      offsets(w, log.highWatermark, log.logStartOffset);
      w.int32(read.bytes);
      for (const batch of read.batches) w.raw(batch);
    });
  });
  return { body: w.toBuffer(), recordBytes, failed };
}

/** Resolves on the next append anywhere, after `ms`, or when the broker stops, whichever comes first. */
async function nextAppendOrTimeout(state: BrokerState, ms: number): Promise<void> {
  // Not AbortSignal.any([AbortSignal.timeout(ms), …]): a garbage collection can make that one never fire, and a
  // Fetch on an idle topic then never answers, so the consumer's heartbeats stop (see abort-after.ts).
  const deadline = abortAfter(ms, state.stopping.signal);
  try {
    await once(state.topics.events, 'append', { signal: deadline.signal }).catch(() => undefined);
  } finally {
    deadline.clear();
  }
}

export function fetchHandler(state: BrokerState): ApiHandler {
  return {
    apiKey: 1,
    name: 'Fetch',
    minVersion: 4,
    maxVersion: 11,
    async handle(body, header) {
      const version = header.apiVersion;
      const request = readRequest(body, version);
      const deadline = Date.now() + request.maxWaitMs;
      for (;;) {
        const answer = collect(state, request, version);
        const waitMs = deadline - Date.now();
        const done = answer.recordBytes >= request.minBytes || answer.failed || waitMs <= 0;
        if (done || state.stopping.signal.aborted) return answer.body;
        await nextAppendOrTimeout(state, waitMs);
      }
    },
  };
}
