/** What the request handlers share: the log, the one broker node they advertise, and producer id allocation. */
import { TopicStore } from './log.js';

export class BrokerState {
  readonly topics = new TopicStore();
  readonly nodeId = 0;
  readonly clusterId = 'cityhub-test-broker';
  host = '127.0.0.1';
  port = 0;
  /** Aborted when the broker stops, so fetches waiting for data answer at once instead of holding the socket. */
  stopping = new AbortController();
  private nextProducerId = 1000n;
  private readonly transactionalProducers = new Map<string, { producerId: bigint; epoch: number }>();

  constructor(readonly autoCreateTopics: boolean) {}

  /** A fresh id per idempotent producer; a transactional id keeps its producer id and gets the next epoch. */
  allocateProducerId(transactionalId: string | null): { producerId: bigint; epoch: number } {
    if (transactionalId === null) return { producerId: this.nextProducerId++, epoch: 0 };
    const known = this.transactionalProducers.get(transactionalId);
    const next = known
      ? { producerId: known.producerId, epoch: known.epoch + 1 }
      : { producerId: this.nextProducerId++, epoch: 0 };
    this.transactionalProducers.set(transactionalId, next);
    return next;
  }
}
