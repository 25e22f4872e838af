/**
 * PostgreSQL on loopback for tests and measurements: PGlite (PostgreSQL compiled to WASM, in this process) served
 * over the wire protocol by pglite-socket, so the connector talks to it with `pg` exactly as to a real server. The
 * socket server can be stopped (the peer is down, connections cut) and started again on the same port while the
 * database keeps its rows.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export class PostgresPeer {
  private server: PGLiteSocketServer | undefined;
  port = 0;

  private constructor(readonly db: PGlite) {}

  static async create(): Promise<PostgresPeer> {
    return new PostgresPeer(await PGlite.create());
  }

  /** postgres:// URL of the peer; PGlite takes any user and password. */
  url(password = 'pw'): string {
    return `postgres://postgres:${password}@127.0.0.1:${this.port}/postgres`;
  }

  /** Listens on `port` (0: a free one, kept for later restarts). */
  async start(port = this.port): Promise<void> {
    const server = new PGLiteSocketServer({ db: this.db, host: '127.0.0.1', port, maxConnections: 8 });
    await server.start();
    this.server = server;
    this.port = Number(server.getServerConn().split(':').at(-1));
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.db.close();
  }
}
