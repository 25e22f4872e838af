import { z } from 'zod';
import type { Feed } from '../../connectors/types.js';
import { scrubPersonalText } from '../privacy/personal-text.js';
import type { DeadLetter, NormalizedMessage } from './normalizer.js';

/**
 * A dead letter a connector raises itself — a body the bus refused as too large, a file it could not read — sent to
 * the topic `dlq.<feed>` as JSON. The pipeline lands it under `_dlq/<feed>` like the normalizer's own dead letters,
 * and counts it as received and dead-lettered, so records in = landed + dead-lettered holds from the source on.
 */
export const connectorDeadLetter = z
  .object({
    reason_code: z.string().min(1).describe('why, e.g. oversized, unreadable'),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).min(1),
    /** At most 64 KiB of the offending body, as text (invalid UTF-8 replaced); personal data is masked before the bus. */
    raw: z.string(),
    raw_truncated: z.boolean(),
    /** Where the body came from at the source: a file name, a request id, an MQTT topic. */
    source_ref: z.string().optional(),
    /** The connector that raised it. */
    connector: z.string(),
  })
  .strict();
export type ConnectorDeadLetter = z.infer<typeof connectorDeadLetter>;

export const CONNECTOR_DEAD_LETTER_RAW_LIMIT = 64 * 1024;

export function deadLetterTopic(feed: Feed): string {
  return `dlq.${feed}`;
}

/** Builds the envelope for a body the connector cannot put on its raw topic. */
export function connectorDeadLetterOf(
  connector: string,
  reason_code: string,
  message: string,
  body: Buffer | string,
  source_ref?: string,
): ConnectorDeadLetter {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = bytes.subarray(0, CONNECTOR_DEAD_LETTER_RAW_LIMIT);
  return {
    reason_code,
    issues: [{ path: '', message }],
    raw: head.toString('utf8').toWellFormed(),
    raw_truncated: bytes.length > head.length,
    ...(source_ref !== undefined ? { source_ref } : {}),
    connector,
  };
}

/**
 * The envelope as the bus message value, at most `maxBytes` of UTF-8 when it can be: a bus that refuses the dead letter
 * of an oversized body (its limit below the 64 KiB kept of it) would otherwise stop the connector. The kept body is
 * cut first (`raw_truncated` set), then the explanation; undefined when even the bare envelope is larger.
 */
export function serializeConnectorDeadLetter(
  letter: ConnectorDeadLetter,
  maxBytes = Number.POSITIVE_INFINITY,
): string | undefined {
  let json = JSON.stringify(letter);
  let over = Buffer.byteLength(json) - maxBytes;
  if (over <= 0) return json;
  const fitted = { ...letter, raw_truncated: true, issues: letter.issues.map((i) => ({ ...i })) };
  while (over > 0 && fitted.raw.length > 0) {
    fitted.raw = shorter(fitted.raw, over);
    json = JSON.stringify(fitted);
    over = Buffer.byteLength(json) - maxBytes;
  }
  const issue = fitted.issues[0]!;
  while (over > 0 && issue.message.length > 0) {
    issue.message = shorter(issue.message, over);
    json = JSON.stringify(fitted);
    over = Buffer.byteLength(json) - maxBytes;
  }
  return over > 0 ? undefined : json;
}

/** `text` cut by about `over` bytes of its JSON form (at least one character), in proportion to what each costs. */
function shorter(text: string, over: number): string {
  const bytes = Buffer.byteLength(JSON.stringify(text));
  const keep = Math.min(text.length - 1, Math.floor((text.length * (bytes - over)) / bytes));
  return text.slice(0, Math.max(0, keep)).toWellFormed();
}

/**
 * Reads `dlq.<feed>`: each message is one connector dead letter, landed under `_dlq/<feed>` and counted as one
 * record received and dead-lettered. A message that is not a valid envelope is still a dead letter (`invalid`),
 * never lost.
 */
export class ConnectorDeadLetterReader {
  constructor(readonly feed: Feed) {}

  normalize(value: Buffer): NormalizedMessage {
    let envelope: ConnectorDeadLetter | undefined;
    try {
      const parsed = connectorDeadLetter.safeParse(JSON.parse(value.toString('utf8')));
      if (parsed.success) envelope = parsed.data;
    } catch {
      envelope = undefined;
    }
    const deadLetter: DeadLetter = envelope
      ? {
          feed: this.feed,
          reason_code: envelope.reason_code,
          issues: envelope.issues,
          raw: scrubPersonalText(envelope.raw),
          raw_truncated: envelope.raw_truncated,
          ...(envelope.source_ref !== undefined ? { source_ref: `${envelope.connector}:${envelope.source_ref}` } : {}),
        }
      : {
          feed: this.feed,
          reason_code: 'invalid',
          issues: [{ path: '', message: `not a connector dead-letter envelope (${deadLetterTopic(this.feed)})` }],
          raw: scrubPersonalText(value.toString('utf8', 0, CONNECTOR_DEAD_LETTER_RAW_LIMIT).toWellFormed()),
          raw_truncated: value.length > CONNECTOR_DEAD_LETTER_RAW_LIMIT,
        };
    return { rows: [], deadLetters: [deadLetter], received: 1, landed: 0 };
  }

  forgetSeen(): void {}
}
