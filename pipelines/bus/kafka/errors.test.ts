import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaBusError } from './errors.js';

/** What kafkajs throws when the broker answers with an error code (kafkajs maps the code to its name and flag). */
function protocolError(type: string, retriable: boolean): Error {
  return new KafkaJSProtocolError({ message: `broker said ${type}`, type, code: 0, retriable } as unknown as Error);
}

describe('KafkaBusError.retriable: whether the worker backs off and tries again, or calls for an operator', () => {
  it('a commit the group refused because it moved on (rebalance, expired session) is retriable', () => {
    for (const type of ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS']) {
      const refused = protocolError(type, false);
      expect(new KafkaBusError('commit offsets', refused), type).toMatchObject({ retriable: true, kafkaType: type });
      // As kafkajs passes it on after giving up (the broker's answer as the cause).
      const gaveUp = Object.assign(new KafkaJSNonRetriableError(refused), { cause: refused });
      expect(new KafkaBusError('commit offsets', gaveUp).retriable, type).toBe(true);
    }
  });

  it('a lost connection kafkajs gave up on is retriable; an authorization failure is not', () => {
    const lost = new KafkaJSNumberOfRetriesExceeded(
      Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' }),
      { retryCount: 5, retryTime: 1000 },
    );
    expect(new KafkaBusError('send', lost).retriable).toBe(true);
    const denied = protocolError('TOPIC_AUTHORIZATION_FAILED', false);
    expect(new KafkaBusError('send', denied).retriable).toBe(false);
  });
});
