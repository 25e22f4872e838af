/** kafkajs's decoded records → the bus's BusMessage, and the bus's ProduceMessage → kafkajs's Message. */
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { type MessageHeaders, NO_HEADERS } from '../headers.js';
import type { BusMessage, ProduceMessage } from '../types.js';

/** Headers as the bus carries them: strings, one value per name (the last, if a name came more than once). */
function toBusHeaders(headers: IHeaders | undefined): MessageHeaders {
  if (headers === undefined) return NO_HEADERS;
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    out ??= Object.create(null) as Record<string, string>;
    out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out ?? NO_HEADERS;
}

export function toBusMessage(topic: string, partition: number, message: KafkaMessage): BusMessage {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null || message.key === undefined ? null : message.key.toString('utf8'),
    value: message.value ?? Buffer.alloc(0),
    timestamp: Number(message.timestamp),
    headers: toBusHeaders(message.headers),
  };
}

export function toKafkaMessage(message: ProduceMessage, partition: number): Message {
  return {
    partition,
    key: message.key ?? null,
    value: message.value,
    ...(message.timestamp === undefined ? {} : { timestamp: String(message.timestamp) }),
    ...(message.headers === undefined ? {} : { headers: message.headers as IHeaders }),
  };
}
