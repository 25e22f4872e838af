import { CityhubError } from '../../errors.js';

/**
 * A Kafka request failed. `retriable` comes from the client (network errors, leader moves, coordinator loads,
 * rebalances) so the pipeline worker's and BusSender's backoff treat it like any other transient failure.
 */
export class KafkaBusError extends CityhubError {
  readonly operation: string;
  /** Kafka's error name (e.g. NOT_LEADER_FOR_PARTITION) when the broker answered with one. */
  readonly kafkaType: string | undefined;
  constructor(operation: string, cause: unknown) {
    const type = kafkaErrorType(cause);
    super(`kafka bus: ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      retriable: isKafkaRetriable(cause),
    });
    this.operation = operation;
    this.kafkaType = type;
  }
}

/** A call on a consumer or bus that was closed, or a seek on a partition this member does not own. */
export class KafkaBusStateError extends CityhubError {}

interface KafkaJsErrorShape {
  retriable?: boolean;
  type?: string;
  name?: string;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/** Every error in a kafkajs error's chain (cause, originalError, aggregated errors), the error itself first. */
function* errorChain(error: unknown, depth = 0): Generator<KafkaJsErrorShape> {
  if (depth > 8 || typeof error !== 'object' || error === null) return;
  const shape = error as KafkaJsErrorShape;
  yield shape;
  yield* errorChain(shape.cause, depth + 1);
  yield* errorChain(shape.originalError, depth + 1);
  for (const inner of shape.errors ?? []) yield* errorChain(inner, depth + 1);
}

/** The broker's error name (kafkajs's KafkaJSProtocolError.type) anywhere in the chain. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (const e of errorChain(error)) if (typeof e.type === 'string') return e.type;
  return undefined;
}

/**
 * A commit refused because the group moved on (a rebalance, a session that expired while the member was busy): the
 * member rejoins by itself and the worker starts over from the commits, so trying again is the cure.
 */
const GROUP_MOVED_ON = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS']);

/**
 * kafkajs marks what it gave up on after its own retries as non-retriable (KafkaJSNumberOfRetriesExceeded), but a
 * lost connection or a leader election is worth retrying again later: the cause decides.
 */
function isKafkaRetriable(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSRequestTimeoutError') return true;
    if (e.type !== undefined && GROUP_MOVED_ON.has(e.type)) return true;
    if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSNonRetriableError') continue;
    if (e.retriable === true) return true;
  }
  return false;
}
