import { CityhubError } from '../errors.js';

/**
 * A send held a message larger than the bus accepts (`bus.max_message_bytes`). The whole send is refused, nothing
 * of it is appended, so the producer can take the message out (a connector dead-letters it, an HTTP source answers
 * 413) and send the rest again. Never retriable: the same bytes are refused again.
 */
export class MessageTooLargeError extends CityhubError {
  readonly topic: string;
  /** Position of the first oversized message in the send's message list. */
  readonly index: number;
  readonly bytes: number;
  readonly maxBytes: number;
  constructor(topic: string, index: number, bytes: number, maxBytes: number) {
    super(
      `message ${index} of a send to ${topic} is ${bytes} bytes; the bus accepts at most ${maxBytes} (bus.max_message_bytes)`,
      { retriable: false },
    );
    this.topic = topic;
    this.index = index;
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/**
 * A send held a message whose headers the bus cannot carry: too many, too many bytes, an empty name, a value that is
 * not a string, or text that is not well-formed Unicode (headers are UTF-8 on the wire). Refused whole like an
 * oversized message, and for the same reason never retriable.
 */
export class InvalidHeadersError extends CityhubError {
  readonly topic: string;
  /** Position of the message in the send's message list. */
  readonly index: number;
  /** The offending header's name, when one header is at fault. */
  readonly header: string | undefined;
  readonly reason: string;
  constructor(topic: string, index: number, header: string | undefined, reason: string) {
    super(
      `message ${index} of a send to ${topic} has headers the bus cannot carry: ${header === undefined ? '' : `header ${JSON.stringify(header)}: `}${reason}`,
      { retriable: false },
    );
    this.topic = topic;
    this.index = index;
    this.header = header;
    this.reason = reason;
  }
}
