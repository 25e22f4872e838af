import { MessageTooLargeError } from '../../pipelines/bus/errors.js';
import type { BusProducer, ProduceMessage, ProduceResult } from '../../pipelines/bus/types.js';

/** An operating-system error as fs raises it: what a full bus disk looks like to a producer. */
export function diskFullError(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
}

export interface AcknowledgedMessage {
  topic: string;
  key: string | null;
  value: string;
}

/**
 * A BusProducer whose failures a test scripts: `failNext(n)` makes the next n sends fail with ENOSPC (nothing of them
 * is acknowledged, as with the embedded bus), `maxMessageBytes` refuses sends to raw.<feed> holding a larger message
 * the way the bus does. `acknowledged` lists, in order, every message a successful send took; `beforeSend` sees each attempt.
 */
export class FakeProducer implements BusProducer {
  readonly acknowledged: AcknowledgedMessage[] = [];
  attempts = 0;
  failures = 0;
  maxMessageBytes = Infinity;
  /** Called at the start of every send attempt, before it fails or succeeds. */
  beforeSend: ((topic: string, messages: ProduceMessage[]) => void) | undefined;
  private failing = 0;
  private failureWaiters: (() => void)[] = [];

  failNext(sends: number): void {
    this.failing = sends;
  }

  /** Resolves once `count` sends in total have failed and the sender has seen the last of them. */
  failed(count: number): Promise<void> {
    if (this.failures >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (this.failures >= count ? resolve() : this.failureWaiters.push(check));
      this.failureWaiters.push(check);
    });
  }

  async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    this.attempts++;
    this.beforeSend?.(topic, messages);
    // A real append is asynchronous: let the caller's other work interleave as it would.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failing > 0) {
      this.failing--;
      this.failures++;
      // Woken after the caller has handled the failure (its retry bookkeeping runs in the same turn as the throw).
      const waiters = this.failureWaiters.splice(0);
      setImmediate(() => {
        for (const wake of waiters) wake();
      });
      throw diskFullError();
    }
    // Applied to raw topics only: a test's limit is tiny, a connector dead letter is small but not that small.
    const index = messages.findIndex((m) => Buffer.byteLength(m.value) > this.maxMessageBytes);
    if (index >= 0 && topic.startsWith('raw.'))
      throw new MessageTooLargeError(topic, index, Buffer.byteLength(messages[index]!.value), this.maxMessageBytes);
    for (const m of messages)
      this.acknowledged.push({ topic, key: m.key ?? null, value: Buffer.from(m.value).toString('utf8') });
    return [{ topic, partition: 0, baseOffset: this.acknowledged.length - messages.length, count: messages.length }];
  }

  async close(): Promise<void> {}
}
