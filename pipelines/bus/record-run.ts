/**
 * Reading a PartitionBatch the same way whichever bus produced it: the records the embedded log handed over, or a
 * RecordRun over the message objects of a bus that has only those (Kafka).
 */
import type { MessageHeaders } from './headers.js';
import type { BusMessage, PartitionBatch, RecordRun } from './types.js';

/** The batch's messages as a RecordRun: its records when the bus handed them over, else a view of its messages. */
export function recordsOf(batch: PartitionBatch): RecordRun {
  return batch.records ?? new MessagesRun(batch.messages);
}

/** A RecordRun over message objects. */
class MessagesRun implements RecordRun {
  constructor(private readonly messages: readonly BusMessage[]) {}

  get length(): number {
    return this.messages.length;
  }

  offset(i: number): number {
    return this.messages[i]!.offset;
  }

  chunk(i: number): Buffer {
    return this.messages[i]!.value;
  }

  valueStart(): number {
    return 0;
  }

  valueEnd(i: number): number {
    return this.messages[i]!.value.length;
  }

  value(i: number): Buffer {
    return this.messages[i]!.value;
  }

  headers(i: number): MessageHeaders {
    return this.messages[i]!.headers;
  }

  sameHeaders(i: number, j: number): boolean {
    const a = this.messages[i]!.headers;
    const b = this.messages[j]!.headers;
    if (a === b) return true;
    const names = Object.keys(a);
    if (names.length !== Object.keys(b).length) return false;
    for (const name of names) if (!Object.hasOwn(b, name) || a[name] !== b[name]) return false;
    return true;
  }

  message(i: number): BusMessage {
    return this.messages[i]!;
  }
}
