/**
 * One client connection: splits the byte stream into size-prefixed requests (int32 length, then the request) and
 * handles them one at a time, in order: like Kafka's socket server, which mutes a connection until the response to
 * its request in progress is sent, a request's handler starts only once the previous request was answered. So a
 * Heartbeat or OffsetCommit sent behind a JoinGroup waiting for a rebalance is handled after that JoinGroup, as on a
 * real broker (Kafka clients also match responses to requests by order).
 */
import type { Socket } from 'node:net';
import { NO_RESPONSE } from './api.js';

export type Dispatch = (request: Buffer) => Promise<{ correlationId: number; body: Buffer }>;

export class ClientConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The previous request's handling and response: the next request waits for it before it is handled. */
  private previousWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly maxRequestBytes: number,
    private readonly log: (message: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // A client that vanishes mid-request is normal for a test broker: nothing to report.
    socket.on('error', () => socket.destroy());
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      if ((this.chunks[0] as Buffer).length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const size = (this.chunks[0] as Buffer).readInt32BE(0);
      if (size < 0 || size > this.maxRequestBytes) {
        this.log(`closing ${this.socket.remoteAddress}: request of ${size} bytes exceeds ${this.maxRequestBytes}`);
        this.socket.destroy();
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      const request = all.subarray(4, 4 + size);
      this.respondInOrder(() => this.dispatch(request));
    }
  }

  private respondInOrder(handle: () => Promise<{ correlationId: number; body: Buffer }>): void {
    this.previousWrite = this.previousWrite
      .then(handle)
      .then(({ correlationId, body }) => {
        if (body === NO_RESPONSE || this.socket.destroyed) return;
        const header = Buffer.allocUnsafe(8);
        header.writeInt32BE(4 + body.length, 0);
        header.writeInt32BE(correlationId, 4);
        this.socket.write(Buffer.concat([header, body]));
      })
      .catch((error: unknown) => {
        // A request the broker cannot parse leaves the stream in an unknown state: close, as Kafka does.
        this.log(`closing ${this.socket.remoteAddress}: ${error instanceof Error ? error.message : String(error)}`);
        this.socket.destroy();
      });
  }
}
