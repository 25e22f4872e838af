/**
 * Idempotent-producer checks for one partition, as Kafka's broker does them: per producer id the current epoch, the
 * last sequence and the last five batches appended (a producer has at most five in flight). A retried batch that
 * matches one of those five is a duplicate the broker acknowledges again with its original base offset and error
 * NONE: that is what kafkajs expects when it resends after a lost response (it treats DUPLICATE_SEQUENCE_NUMBER as a
 * fatal error). An older duplicate answers DUPLICATE_SEQUENCE_NUMBER; a gap answers OUT_OF_ORDER_SEQUENCE_NUMBER.
 */
import { ErrorCode } from './api.js';

const NO_PRODUCER_ID = -1n;
const CACHED_BATCHES = 5;
const INT32_MAX = 2_147_483_647;
/** Not in api.ts's shared table: only the produce path answers it. */
export const INVALID_PRODUCER_EPOCH = 47;

interface CachedBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: bigint;
}

interface ProducerState {
  epoch: number;
  lastSequence: number;
  recent: CachedBatch[];
}

export interface SequencedBatch {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: bigint }
  | { kind: 'reject'; errorCode: number };

/** Sequences are int32 and wrap to 0 (kafkajs rotates them the same way). */
function addToSequence(sequence: number, increment: number): number {
  const sum = sequence + increment;
  return sum > INT32_MAX ? sum - INT32_MAX - 1 : sum;
}

export class ProducerSequences {
  private readonly producers = new Map<bigint, ProducerState>();

  check(batch: SequencedBatch): SequenceCheck {
    if (batch.producerId === NO_PRODUCER_ID) return { kind: 'append' };
    const state = this.producers.get(batch.producerId);
    if (state === undefined || batch.producerEpoch > state.epoch) {
      // A new producer, or a new epoch of it, starts at sequence 0.
      return batch.baseSequence === 0 ? { kind: 'append' } : reject(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }
    if (batch.producerEpoch < state.epoch) return reject(INVALID_PRODUCER_EPOCH);
    const lastSequence = addToSequence(batch.baseSequence, batch.lastOffsetDelta);
    const cached = state.recent.find((c) => c.firstSequence === batch.baseSequence && c.lastSequence === lastSequence);
    if (cached !== undefined) return { kind: 'duplicate', baseOffset: cached.baseOffset };
    if (batch.baseSequence === addToSequence(state.lastSequence, 1)) return { kind: 'append' };
    return reject(
      batch.baseSequence <= state.lastSequence
        ? ErrorCode.DUPLICATE_SEQUENCE_NUMBER
        : ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
  }

  /** Records an appended batch; call only after `check` said `append`. */
  appended(batch: SequencedBatch, baseOffset: bigint): void {
    if (batch.producerId === NO_PRODUCER_ID) return;
    let state = this.producers.get(batch.producerId);
    if (state === undefined || batch.producerEpoch > state.epoch) {
      state = { epoch: batch.producerEpoch, lastSequence: -1, recent: [] };
      this.producers.set(batch.producerId, state);
    }
    state.lastSequence = addToSequence(batch.baseSequence, batch.lastOffsetDelta);
    state.recent.push({ firstSequence: batch.baseSequence, lastSequence: state.lastSequence, baseOffset });
    if (state.recent.length > CACHED_BATCHES) state.recent.shift();
  }
}

function reject(errorCode: number): SequenceCheck {
  return { kind: 'reject', errorCode };
}
