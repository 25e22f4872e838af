/**
 * PostgreSQL on loopback for tests and measurements: PGlite (PostgreSQL compiled to WASM, in this process) served
 * over the wire protocol by pglite-socket, so the connector talks to it with `pg` exactly as to a real server. The
 * socket server can be stopped (the peer is down, connections cut) and started again on the same port while the
 * database keeps its rows.
 *
 * The peer also sees what a real server sees (`wire`): every statement a client prepared with the parameters it bound,
 * and the startup parameters of each connection. A test reads a polling connector's
 * committed cursor there — the parameters of its next query — as a case system's DBA would, from outside. It can also
 * hold statements back (`stall()`): a query the server does not answer, without blocking this process the way a
 * pg_sleep in WASM PGlite would.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A statement a client ran over the wire: its SQL and the parameters bound to it as text (null for NULL). */
export interface BoundStatement {
  text: string;
  values: (string | null)[];
}

export class PostgresPeer {
  private server: PGLiteSocketServer | undefined;
  port = 0;
  readonly wire = new WireLog();
  private stalled: Promise<void> | undefined;
  private unstall: (() => void) | undefined;
  private readonly served: PGlite;
  private ownsDb = true;

  private constructor(readonly db: PGlite) {
    this.served = observedOverTheWire(db, (message) => this.observe(message));
  }

  static async create(): Promise<PostgresPeer> {
    return new PostgresPeer(await PGlite.create());
  }

  /**
   * A peer serving a database the caller opened and closes (PGlite takes seconds to start: one per test file, not per
   * test). Its `close()` only stops the server.
   */
  static over(db: PGlite): PostgresPeer {
    const peer = new PostgresPeer(db);
    peer.ownsDb = false;
    return peer;
  }

  /** postgres:// URL of the peer; PGlite takes any user and password. */
  url(password = 'pw'): string {
    return `postgres://postgres:${password}@127.0.0.1:${this.port}/postgres`;
  }

  /** Listens on `port` (0: a free one, kept for later restarts). */
  async start(port = this.port): Promise<void> {
    const server = new PGLiteSocketServer({ db: this.served, host: '127.0.0.1', port, maxConnections: 8 });
    await server.start();
    this.server = server;
    this.port = Number(server.getServerConn().split(':').at(-1));
  }

  /** From now on, messages from clients wait unanswered until `resume()`: a server that hangs mid-query. */
  stall(): void {
    this.stalled ??= new Promise((resolve) => {
      this.unstall = resolve;
    });
  }

  resume(): void {
    this.unstall?.();
    this.stalled = undefined;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.resume();
    await server?.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.ownsDb) await this.db.close();
  }

  private async observe(message: Uint8Array): Promise<void> {
    this.wire.record(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    if (this.stalled) await this.stalled;
  }
}

/**
 * The PGlite instance as the socket server uses it, with every wire message shown to `observe` first (and held while
 * it is pending). A proxy rather than a patch: the tests' own `db.query` calls stay unobserved, and PGlite's private
 * fields need its methods called on the instance itself.
 */
function observedOverTheWire(db: PGlite, observe: (message: Uint8Array) => Promise<void>): PGlite {
  return new Proxy(db, {
    get(target, property) {
      if (property === 'execProtocolRawStream') {
        return async (message: Uint8Array, options: Parameters<PGlite['execProtocolRawStream']>[1]) => {
          await observe(message);
          return target.execProtocolRawStream(message, options);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const PROTOCOL_3 = 196608;

/**
 * What clients sent over the wire. Frontend messages (protocol 3): a startup message is
 * `int32 length, int32 196608, (name\0 value\0)* \0`; every other is `byte type, int32 length` then its body. Parse
 * `P`: `name\0 sql\0 …`. Bind `B`: `portal\0 statement\0 int16 n, int16[n] formats, int16 n,
 * (int32 length (-1 = NULL), bytes)[n], …` (pg binds text).
 */
export class WireLog {
  /** Every Bind received, with the SQL of the statement it binds, in arrival order. */
  readonly statements: BoundStatement[] = [];
  /** Startup parameters of every connection (user, database, options, statement_timeout …). */
  readonly startups: Record<string, string>[] = [];
  /** SQL by prepared statement name ("" the unnamed one; pg re-parses it before each query). */
  private readonly parsed = new Map<string, string>();

  record(buffer: Buffer): void {
    if (buffer.length >= 8 && buffer.readInt32BE(4) === PROTOCOL_3) {
      const parts = buffer.subarray(8, buffer.readInt32BE(0)).toString('utf8').split('\0');
      const startup: Record<string, string> = {};
      for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) startup[parts[i]!] = parts[i + 1]!;
      this.startups.push(startup);
      return;
    }
    for (let at = 0; at + 5 <= buffer.length; ) {
      const type = buffer[at];
      const end = at + 1 + buffer.readInt32BE(at + 1);
      if (end > buffer.length || end <= at) return;
      const body = buffer.subarray(at + 5, end);
      if (type === PARSE) {
        const [name, text] = cStrings(body, 2);
        this.parsed.set(name!, text!);
      } else if (type === BIND) {
        const [, statement, after] = cStrings(body, 2);
        this.statements.push({ text: this.parsed.get(statement!) ?? '', values: boundValues(body, Number(after)) });
      }
      at = end;
    }
  }
}

const PARSE = 0x50;
const BIND = 0x42;

/** The first `count` NUL-terminated strings of `body`, then the offset after them. */
function cStrings(body: Buffer, count: number): string[] {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const nul = body.indexOf(0, at);
    out.push(body.toString('utf8', at, nul));
    at = nul + 1;
  }
  out.push(String(at));
  return out;
}

function boundValues(body: Buffer, from: number): (string | null)[] {
  let at = from;
  const formats = body.readInt16BE(at);
  at += 2 + 2 * formats;
  const count = body.readInt16BE(at);
  at += 2;
  const values: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length < 0) values.push(null);
    else {
      values.push(body.toString('utf8', at, at + length));
      at += length;
    }
  }
  return values;
}
