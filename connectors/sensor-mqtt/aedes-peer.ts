import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Aedes } from 'aedes';

/**
 * A real MQTT broker (aedes) on a loopback port, for tests and the measurement. Its sessions live in aedes' memory
 * persistence for as long as the peer exists, so `down()` then `up()` is a broker whose listener died and came back
 * with its sessions and queued messages intact (what a broker with durable persistence does across a restart).
 */
export class AedesPeer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly broker: Aedes,
    /** The loopback port; fixed for the peer's life, so a client reconnects to the same url. */
    readonly port: number,
    /** With these, the broker speaks MQTT over TLS only (mqtts://). */
    private readonly tls: TlsOptions | undefined,
  ) {}

  /**
   * A broker listening on a free loopback port; `{ listening: false }` only reserves the port (a broker down), `tls`
   * makes it an mqtts:// broker (a `node:tls` server in front of aedes).
   */
  static async start(options: { listening?: boolean; tls?: TlsOptions } = {}): Promise<AedesPeer> {
    const broker = await Aedes.createBroker({ heartbeatInterval: 3_600_000 });
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const peer = new AedesPeer(broker, port, options.tls);
    if (options.listening !== false) await peer.up();
    return peer;
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** Starts accepting connections. */
  async up(): Promise<void> {
    if (this.server) return;
    const accept = (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.broker.handle(socket);
    };
    const server = this.tls ? createTlsServer(this.tls, accept) : createServer(accept);
    // A refused handshake (the client does not trust us, or has no certificate) is the client's error, not ours.
    if (this.tls) server.on('tlsClientError', () => {});
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
  }

  /** Drops every connection at once (no DISCONNECT, as a crash does) and stops listening. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.down();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
  }
}
