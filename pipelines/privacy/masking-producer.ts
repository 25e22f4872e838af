import type { Feed } from '../../connectors/types.js';
import type { BusProducer, ProduceMessage, ProduceResult } from '../bus/types.js';
import { connectorDeadLetterOf, deadLetterTopic } from '../normalize/connector-dead-letter.js';
import { type PersonalDataMasker, scrubAll } from './masker.js';
import { scrubPersonalText } from './personal-text.js';

/**
 * The producer connectors get: for a personal feed, every message is masked before it reaches the bus — the first
 * durable write — so no clear phone, name or ID number is ever in a log segment. A message that cannot be masked
 * safely (not UTF-8, too deep, not JSON) goes to `dlq.<feed>` instead, as a dead letter scrubbed of every digit
 * run and Chinese character: it would be dead-lettered anyway, and its clear bytes must not be kept.
 */
export function maskingProducer(
  producer: BusProducer,
  masker: PersonalDataMasker,
  personalFeeds: ReadonlySet<Feed>,
  connectorId: string,
): BusProducer {
  const personalTopics = new Map<string, Feed>();
  for (const feed of personalFeeds) {
    personalTopics.set(`raw.${feed}`, feed);
    personalTopics.set(deadLetterTopic(feed), feed);
  }
  return {
    async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
      const feed = personalTopics.get(topic);
      if (feed === undefined) return producer.send(topic, messages);
      const masked: ProduceMessage[] = [];
      const refused: ProduceMessage[] = [];
      for (const message of messages) {
        const value = typeof message.value === 'string' ? Buffer.from(message.value) : message.value;
        if (topic === deadLetterTopic(feed)) {
          masked.push({ ...message, value: maskConnectorDeadLetter(masker, value) });
          continue;
        }
        const outcome = masker.mask(value);
        if (outcome.ok) masked.push({ ...message, key: maskKey(message.key), value: outcome.value });
        else
          refused.push({
            key: null,
            value: JSON.stringify(
              connectorDeadLetterOf(connectorId, outcome.reason_code, outcome.message, outcome.preview),
            ),
            ...(message.timestamp !== undefined ? { timestamp: message.timestamp } : {}),
          });
      }
      const results = masked.length > 0 ? await producer.send(topic, masked) : [];
      if (refused.length > 0) results.push(...(await producer.send(deadLetterTopic(feed), refused)));
      return results;
    },
    close: () => producer.close(),
  };
}

/**
 * A connector's own dead letter: its `raw` is a body that could not be parsed, so no field tells a name from a
 * place and it is scrubbed whole; the rest of the envelope is masked like any payload.
 */
function maskConnectorDeadLetter(masker: PersonalDataMasker, value: Buffer): Buffer {
  try {
    const envelope = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    if (envelope && typeof envelope.raw === 'string') envelope.raw = scrubAll(envelope.raw);
    return Buffer.from(JSON.stringify(masker.maskValue(envelope)));
  } catch {
    return Buffer.from(scrubAll(value.toString('utf8').toWellFormed()));
  }
}

/** A message key is stored in the log too: a key holding a phone or ID number has it replaced (an order number stays, so the partition does). */
function maskKey(key: string | null | undefined): string | null | undefined {
  return typeof key === 'string' ? scrubPersonalText(key) : key;
}
