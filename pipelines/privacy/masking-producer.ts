import type { Feed } from '../../connectors/types.js';
import type { BusProducer, MessageHeaders, ProduceMessage, ProduceResult } from '../bus/types.js';
import { deadLetterTopic } from '../normalize/connector-dead-letter.js';
import { type PersonalDataMasker, scrubAll } from './masker.js';
import { scrubPersonalText } from './personal-text.js';

/**
 * The producer connectors get: for a personal feed, every message is masked before it reaches the bus — the first
 * durable write — so no clear phone, name or ID number is ever in a log segment. A message that cannot be masked
 * safely (not UTF-8, too deep, not JSON) is replaced, in place, by an envelope holding only its reason and a preview
 * scrubbed of every digit run and Chinese character (`unmaskableEnvelope`); the normalizer dead-letters it. In place,
 * so a send stays one append to one topic: positions (a MessageTooLargeError's index) still name the caller's
 * messages, and a retried send cannot append half of it twice. Headers go through as they are, except that a phone
 * or ID number in a header value (a file name) is replaced like one in a key.
 */
export function maskingProducer(
  producer: BusProducer,
  masker: PersonalDataMasker,
  personalFeeds: ReadonlySet<Feed>,
): BusProducer {
  const personalTopics = new Map<string, 'raw' | 'dlq'>();
  for (const feed of personalFeeds) {
    personalTopics.set(`raw.${feed}`, 'raw');
    personalTopics.set(deadLetterTopic(feed), 'dlq');
  }
  return {
    send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
      const kind = personalTopics.get(topic);
      if (kind === undefined) return producer.send(topic, messages);
      const masked = messages.map((message): ProduceMessage => {
        const value = typeof message.value === 'string' ? Buffer.from(message.value) : message.value;
        let out: Buffer;
        if (kind === 'dlq') out = maskConnectorDeadLetter(masker, value);
        else {
          const outcome = masker.mask(value);
          out = outcome.ok ? outcome.value : Buffer.from(JSON.stringify(unmaskableEnvelope(outcome)));
        }
        const masked: ProduceMessage = { ...message, key: maskKey(message.key), value: out };
        if (message.headers !== undefined) masked.headers = maskHeaders(message.headers);
        return masked;
      });
      return producer.send(topic, masked);
    },
    close: () => producer.close(),
  };
}

/** The key of the envelope that stands for a personal message the masker could not parse. */
export const UNMASKABLE_KEY = '_cityhub_unmaskable';

export interface UnmaskableEnvelope {
  [UNMASKABLE_KEY]: { reason_code: string; message: string; preview: string };
}

function unmaskableEnvelope(outcome: { reason_code: string; message: string; preview: string }): UnmaskableEnvelope {
  return { [UNMASKABLE_KEY]: { reason_code: outcome.reason_code, message: outcome.message, preview: outcome.preview } };
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

/** Header values are stored in the log like keys: the same rule. The headers themselves when nothing changed. */
function maskHeaders(headers: MessageHeaders): MessageHeaders {
  let masked: Record<string, string> | undefined;
  for (const name in headers) {
    const value = headers[name]!;
    const scrubbed = scrubPersonalText(value);
    if (scrubbed === value) continue;
    masked ??= { ...headers };
    masked[name] = scrubbed;
  }
  return masked ?? headers;
}
