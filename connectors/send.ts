import type { Logger } from 'pino';
import { InvalidHeadersError, MessageTooLargeError } from '../pipelines/bus/errors.js';
import { SOURCE_HEADER } from '../pipelines/bus/headers.js';
import type { BusProducer, MessageHeaders, ProduceMessage } from '../pipelines/bus/types.js';
import {
  connectorDeadLetterOf,
  deadLetterTopic,
  serializeConnectorDeadLetter,
} from '../pipelines/normalize/connector-dead-letter.js';
import { scrubPersonalText } from '../pipelines/privacy/personal-text.js';
import { type RetryPolicy, retry } from '../pipelines/retry.js';
import { type Feed, rawTopic } from './types.js';

/** What a connector's sends report into its health: how often they had to wait, and what is failing right now. */
export interface SendHealth {
  retries: number;
  /** The failure being retried at the moment; cleared once a send goes through again. */
  error?: string;
  last_error_at?: string;
}

/** A body that cannot go on `raw.<feed>`, and why: one connector dead letter. */
export interface DeadLetterInput {
  message: ProduceMessage;
  reason: string;
  explanation: string;
  /** Where it came from at the source (a file name, `file:line`). */
  sourceRef?: string;
}

export interface BusSenderOptions {
  /** The connector's id: named in dead letters and logs. */
  connector: string;
  producer: BusProducer;
  /** Aborted by the connector's stop(): ends a backoff wait at once (the send rejects with RetryAbortedError). */
  signal: AbortSignal;
  policy?: RetryPolicy;
  log?: Logger;
}

/**
 * The send path every connector shares: a bus send that outlives a full disk or a lost peer (retried with the shared
 * backoff, visible in health) and never wedges on one bad message (a message the bus refuses — too large, headers it
 * cannot carry — becomes a connector dead letter on `dlq.<feed>`, the rest of the send goes through in order). When
 * send() resolves, every message given is acknowledged by the bus, as itself or as its dead letter: a source may then
 * advance its cursor.
 *
 * Every message, dead letters included, leaves with the header `cityhub-source: <connector id>` (SOURCE_HEADER): the
 * pipeline lands it as `_source`. Headers the connector set (`mqtt-topic`, `file`, `line`, …) are kept beside it; a
 * `cityhub-source` of its own is replaced, so a row always names the connector that really sent it.
 */
export class BusSender {
  readonly health: SendHealth = { retries: 0 };
  /** Messages acknowledged per feed, raw or dead-lettered: what the pipeline will count as received. */
  readonly sent: Partial<Record<Feed, number>> = {};
  readonly deadLettered: Partial<Record<Feed, number>> = {};
  /** The headers of every message the connector sent without any: one shared object. */
  private readonly sourceOnly: MessageHeaders;

  constructor(private readonly options: BusSenderOptions) {
    this.sourceOnly = Object.freeze({ [SOURCE_HEADER]: options.connector });
  }

  /** `sourceRefs[i]` names where message i came from (a file name), carried into its dead letter. */
  async send(feed: Feed, messages: ProduceMessage[], sourceRefs?: readonly string[]): Promise<void> {
    await this.sendStamped(feed, messages.map(this.stamp), sourceRefs);
  }

  private async sendStamped(feed: Feed, messages: ProduceMessage[], sourceRefs?: readonly string[]): Promise<void> {
    let start = 0;
    while (start < messages.length) {
      const rest = start === 0 ? messages : messages.slice(start);
      try {
        await this.sendRetried(rawTopic(feed), rest);
        this.count(this.sent, feed, rest.length);
        return;
      } catch (error) {
        if (!(error instanceof MessageTooLargeError || error instanceof InvalidHeadersError)) throw error;
        // The whole send was refused: send what came before the refused message, then its dead letter, then go on.
        const head = rest.slice(0, error.index);
        if (head.length > 0) await this.sendStamped(feed, head, sourceRefs?.slice(start, start + error.index));
        const at = start + error.index;
        const refused = messages[at]!;
        if (error instanceof MessageTooLargeError) {
          await this.deadLetter(feed, refused, 'oversized', error.message, sourceRefs?.[at]);
        } else {
          // Its own headers are what the bus refused: the dead letter carries only the connector's stamp.
          await this.deadLetter(
            feed,
            { ...refused, headers: this.sourceOnly },
            'invalid_headers',
            error.message,
            sourceRefs?.[at],
          );
        }
        start = at + 1;
      }
    }
  }

  /** Sends a connector dead letter for a body that cannot go on `raw.<feed>`. */
  async deadLetter(
    feed: Feed,
    message: ProduceMessage,
    reason: string,
    explanation: string,
    sourceRef?: string,
  ): Promise<void> {
    await this.deadLetters(feed, [{ message, reason, explanation, ...(sourceRef !== undefined ? { sourceRef } : {}) }]);
  }

  /**
   * Sends many connector dead letters in one bus send (a file's bad rows), counted and logged as `deadLetter` would.
   * A letter the bus refuses as too large (its limit below the 64 KiB of body a letter keeps) is cut to fit the limit
   * the bus reported and sent again: a dead letter never stops the connector.
   */
  async deadLetters(feed: Feed, letters: readonly DeadLetterInput[]): Promise<void> {
    if (letters.length === 0) return;
    const { connector } = this.options;
    const envelopes = letters.map((l) =>
      connectorDeadLetterOf(connector, l.reason, l.explanation, l.message.value, l.sourceRef),
    );
    const messages: ProduceMessage[] = letters.map((l, i) => ({
      key: l.message.key ?? null,
      value: JSON.stringify(envelopes[i]),
      headers: this.stamp(l.message).headers!,
    }));
    for (;;) {
      try {
        await this.sendRetried(deadLetterTopic(feed), messages);
        break;
      } catch (error) {
        if (!(error instanceof MessageTooLargeError)) throw error;
        const refused = messages[error.index]!;
        const valueBytes = Buffer.byteLength(refused.value as string);
        // The bus counts key and headers too: what is left of its limit for the value.
        const room = error.maxBytes - (error.bytes - valueBytes);
        const fitted = serializeConnectorDeadLetter(envelopes[error.index]!, room);
        if (fitted === undefined || Buffer.byteLength(fitted) >= valueBytes) throw error;
        messages[error.index] = { ...refused, value: fitted };
      }
    }
    this.count(this.sent, feed, letters.length);
    this.count(this.deadLettered, feed, letters.length);
    const log = this.options.log;
    if (!log) return;
    if (letters.length === 1) {
      const [{ reason, explanation, sourceRef }] = letters as [DeadLetterInput];
      log.warn(
        // A file name may hold a phone number; logs keep no clear personal data.
        { connector, feed, reason, source_ref: sourceRef && scrubPersonalText(sourceRef), why: explanation },
        'message dead-lettered by the connector',
      );
      return;
    }
    // One line per batch: a file of 100,000 bad rows must not write 100,000 log lines.
    const reasons: Record<string, number> = {};
    for (const l of letters) reasons[l.reason] = (reasons[l.reason] ?? 0) + 1;
    const first = letters[0]!.sourceRef;
    log.warn(
      { connector, feed, count: letters.length, reasons, first_source_ref: first && scrubPersonalText(first) },
      'messages dead-lettered by the connector',
    );
  }

  private async sendRetried(topic: string, messages: ProduceMessage[]): Promise<void> {
    const { producer, signal, policy, log, connector } = this.options;
    await retry(() => producer.send(topic, messages), {
      what: `bus send to ${topic} for connector ${connector}`,
      signal,
      ...(policy ? { policy } : {}),
      onRetry: ({ error, attempt, delayMs }) => {
        const message = error instanceof Error ? error.message : String(error);
        this.health.retries++;
        this.health.error = `bus send to ${topic} failing (attempt ${attempt}, next in ${delayMs} ms): ${message}`;
        this.health.last_error_at = new Date().toISOString();
        log?.warn({ connector, topic, attempt, delay_ms: delayMs, err: error }, 'bus send failed; retrying');
      },
    });
    if (this.health.error !== undefined) {
      delete this.health.error;
      log?.info({ connector, topic }, 'bus send recovered');
    }
  }

  /** The message with the connector's id among its headers (the message itself when that is already so). */
  private readonly stamp = (message: ProduceMessage): ProduceMessage => {
    const headers = message.headers;
    if (headers === undefined) return { ...message, headers: this.sourceOnly };
    if (headers[SOURCE_HEADER] === this.options.connector) return message;
    return { ...message, headers: { ...headers, [SOURCE_HEADER]: this.options.connector } };
  };

  private count(counts: Partial<Record<Feed, number>>, feed: Feed, n: number): void {
    counts[feed] = (counts[feed] ?? 0) + n;
  }
}
