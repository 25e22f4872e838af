/** The city's event system: it pushes its event snapshots to the hub in NDJSON batches. */
import type { DemoWireConfig } from '../config.js';
import type { RawMessage } from '../types.js';
import { postUntilSettled } from './post.js';

type EventPushConfig = NonNullable<DemoWireConfig['event_push']>;

export class BulkPusher {
  /** Records in requests the hub answered 202 (each line on the bus, or dead-lettered and listed as rejected). */
  settled = 0;

  constructor(
    private readonly config: EventPushConfig,
    private readonly signal: AbortSignal,
  ) {}

  /** Pushes the messages in order, one request per `batch_size`; resolves when the hub has settled them all. */
  async send(messages: readonly RawMessage[]): Promise<void> {
    for (let from = 0; from < messages.length; from += this.config.batch_size) {
      const batch = messages.slice(from, from + this.config.batch_size);
      // One line per message: JSON text holds no raw line break, and a broken one is rejected alone.
      const body = Buffer.from(`${batch.map((m) => m.value).join('\n')}\n`, 'utf8');
      await postUntilSettled({
        url: this.config.url,
        body,
        signal: this.signal,
        headers: () => ({ 'content-type': 'application/x-ndjson' }),
      });
      this.settled += batch.length;
    }
  }
}
