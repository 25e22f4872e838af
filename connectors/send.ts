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
  /** When the bus last acknowledged a send (ISO 8601). */
  last_success_at?: string;
}

/** A message of a send() that the bus refused and that went to `dlq.<feed>` as a connector dead letter instead. */
export interface RefusedMessage {
  /** Its position in the messages given to send(). */
  index: number;
  /** The dead letter's reason code: `oversized` or `invalid_headers`. */
  reason: string;
  /** What the bus said. */
  explanation: string;
}

/** What send() resolves with when the bus refused none of the messages: one shared, frozen empty list. */
export const NONE_REFUSED: readonly RefusedMessage[] = Object.freeze([]);

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
 * `cityhub-source` of its own is replaced, so a row always names the connector that really sent it. A connector that
 * serves several sources (http-ingest: one listener, a source per path) names the source per call instead: the
 * `source` argument replaces the connector id in the header and in the dead letter.
 */
export class BusSender {
  readonly health: SendHealth = { retries: 0 };
  /** Messages acknowledged per feed, raw or dead-lettered: what the pipeline will count as received. */
  readonly sent: Partial<Record<Feed, number>> = {};
  readonly deadLettered: Partial<Record<Feed, number>> = {};
  /** Bytes of message bodies acknowledged per feed (raw and dead letters; headers not counted). */
  readonly bytesSent: Partial<Record<Feed, number>> = {};
  /** The headers of a message sent without any, per source id: one shared object each. */
  private readonly sourceOnly = new Map<string, MessageHeaders>();

  constructor(private readonly options: BusSenderOptions) {}

  /**
   * `sourceRefs[i]` names where message i came from (a file name), carried into its dead letter; `source` is the
   * `cityhub-source` of these messages (default: the connector id). Resolves with the messages the bus refused and
   * that went to `dlq.<feed>` instead (empty when it took them all), so a caller can tell its own sender per record.
   */
  async send(
    feed: Feed,
    messages: ProduceMessage[],
    sourceRefs?: readonly string[],
    source: string = this.options.connector,
  ): Promise<readonly RefusedMessage[]> {
    const sourceOnly = this.sourceOnlyOf(source);
    const stamped = messages.map((m) => this.stamp(m, source, sourceOnly));
    // Allocated only when the bus refuses something: the usual send returns the shared empty list.
    let refused: RefusedMessage[] | undefined;
    let start = 0;
    while (start < stamped.length) {
      const rest = start === 0 ? stamped : stamped.slice(start);
      try {
        await this.sendRetried(rawTopic(feed), rest);
        this.count(this.sent, feed, rest.length);
        this.count(this.bytesSent, feed, bodyBytes(rest));
        break;
      } catch (error) {
        if (!(error instanceof MessageTooLargeError || error instanceof InvalidHeadersError)) throw error;
        // The whole send was refused: send what came before the refused message, then its dead letter, then go on.
        const head = rest.slice(0, error.index);
        if (head.length > 0) {
          const inHead = await this.send(feed, head, sourceRefs?.slice(start, start + error.index), source);
          if (inHead.length > 0)
            refused = [...(refused ?? []), ...inHead.map((r) => ({ ...r, index: start + r.index }))];
        }
        const at = start + error.index;
        const message = stamped[at]!;
        const reason = error instanceof MessageTooLargeError ? 'oversized' : 'invalid_headers';
        // Headers the bus refused are not sent again: that dead letter carries only the source stamp.
        const letter = reason === 'oversized' ? message : { ...message, headers: sourceOnly };
        await this.deadLetter(feed, letter, reason, error.message, sourceRefs?.[at], source);
        refused ??= [];
        refused.push({ index: at, reason, explanation: error.message });
        start = at + 1;
      }
    }
    return refused ?? NONE_REFUSED;
  }

  /** Sends a connector dead letter for a body that cannot go on `raw.<feed>`. */
  async deadLetter(
    feed: Feed,
    message: ProduceMessage,
    reason: string,
    explanation: string,
    sourceRef?: string,
    source: string = this.options.connector,
  ): Promise<void> {
    await this.deadLetters(
      feed,
      [{ message, reason, explanation, ...(sourceRef !== undefined ? { sourceRef } : {}) }],
      source,
    );
  }

  /**
   * Sends many connector dead letters in one bus send (a file's bad rows), counted and logged as `deadLetter` would.
   * A letter the bus refuses as too large (its limit below the 64 KiB of body a letter keeps) is cut to fit the limit
   * the bus reported and sent again: a dead letter never stops the connector. `source` names the letters' source, as
   * in send().
   */
  async deadLetters(
    feed: Feed,
    letters: readonly DeadLetterInput[],
    source: string = this.options.connector,
  ): Promise<void> {
    if (letters.length === 0) return;
    // The letter and its log line name the source that sent the body (for most connectors, the connector itself).
    const connector = source;
    const sourceOnly = this.sourceOnlyOf(source);
    const envelopes = letters.map((l) =>
      connectorDeadLetterOf(connector, l.reason, l.explanation, l.message.value, l.sourceRef),
    );
    const messages: ProduceMessage[] = letters.map((l, i) => ({
      key: l.message.key ?? null,
      value: JSON.stringify(envelopes[i]),
      headers: this.stamp(l.message, source, sourceOnly).headers!,
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
    this.count(this.bytesSent, feed, bodyBytes(messages));
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
    this.health.last_success_at = new Date().toISOString();
    if (this.health.error !== undefined) {
      delete this.health.error;
      log?.info({ connector, topic }, 'bus send recovered');
    }
  }

  /**
   * The message with its source's id among its headers (the message itself when that is already so); `sourceOnly` is
   * the shared header object of that source, looked up once per send.
   */
  private stamp(message: ProduceMessage, source: string, sourceOnly: MessageHeaders): ProduceMessage {
    const headers = message.headers;
    if (headers === undefined) return { ...message, headers: sourceOnly };
    if (headers[SOURCE_HEADER] === source) return message;
    return { ...message, headers: { ...headers, [SOURCE_HEADER]: source } };
  }

  /** `{ cityhub-source: <source> }`, one frozen object per source for every message sent without headers. */
  private sourceOnlyOf(source: string): MessageHeaders {
    let headers = this.sourceOnly.get(source);
    if (headers === undefined) {
      headers = Object.freeze({ [SOURCE_HEADER]: source });
      this.sourceOnly.set(source, headers);
    }
    return headers;
  }

  private count(counts: Partial<Record<Feed, number>>, feed: Feed, n: number): void {
    counts[feed] = (counts[feed] ?? 0) + n;
  }
}

/** Bytes of the messages' bodies (a string counted as its UTF-8). */
function bodyBytes(messages: readonly ProduceMessage[]): number {
  let bytes = 0;
  for (const m of messages) bytes += typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
  return bytes;
}
