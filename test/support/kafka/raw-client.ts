/**
 * A minimal Kafka client for tests: writes size-prefixed frames and returns each response (correlation id, body) in
 * order. No retries, no metadata: for asserting on exactly what the broker answers.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  correlationId: number;
  body: Buffer;
}

export class RawKafkaClient {
  private buffered = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve: (r: RawResponse) => void; reject: (e: Error) => void }> = [];
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
    socket.on('error', (error) => this.fail(error));
  }

  static async connect(host: string, port: number): Promise<RawKafkaClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawKafkaClient(socket);
  }

  /** Sends a frame (size prefix included) and resolves with the next response in order. */
  request(frame: Buffer): Promise<RawResponse> {
    const response = this.nextResponse();
    this.socket.write(frame);
    return response;
  }

  /** Sends without expecting an answer (e.g. Produce with acks=0). */
  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  nextResponse(): Promise<RawResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Resolves when the broker closes the connection. */
  closed(): Promise<void> {
    if (this.socket.closed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
      const size = this.buffered.readInt32BE(0);
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      this.waiting.shift()?.resolve({ correlationId: frame.readInt32BE(0), body: Buffer.from(frame.subarray(4)) });
    }
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
