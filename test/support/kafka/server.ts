/**
 * KafkaTestBroker: a single-node, in-memory broker that kafkajs 2.2.4 talks to over TCP. Test support only: see
 * README.md for what it speaks and what it leaves out.
 *
 * Request Header (Version: 1) => request_api_key request_api_version correlation_id client_id
 *   request_api_key => INT16
 *   request_api_version => INT16
 *   correlation_id => INT32
 *   client_id => NULLABLE_STRING
 * Response Header (Version: 0) => correlation_id
 *   correlation_id => INT32
 * (Header v2 / v1 carry tagged fields and go with flexible versions, which are not served.)
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type ApiHandler, ErrorCode, type RequestHeader } from './api.js';
import { Reader, Writer } from './codec.js';
import { ClientConnection } from './connection.js';
import { API_VERSIONS_KEY, apiVersionsHandler, unsupportedApiVersionsBody } from './handlers/api-versions.js';
import { createTopicsHandler } from './handlers/create-topics.js';
import { fetchHandler } from './handlers/fetch.js';
import { initProducerIdHandler } from './handlers/init-producer-id.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { metadataHandler } from './handlers/metadata.js';
import { produceHandler } from './handlers/produce.js';
import type { TopicStore } from './log.js';
import { BrokerState } from './state.js';

export interface KafkaTestBrokerOptions {
  /** 0 (the default) picks a free port; restart() reuses whichever port was bound. */
  port?: number;
  /** More APIs, e.g. the consumer-group handlers in ./group/. Replace a built-in one with the same key. */
  extraHandlers?: ApiHandler[];
  /** Create unknown topics (1 partition) when a Metadata request allows it. Off, as on a production cluster. */
  autoCreateTopics?: boolean;
  /** Requests larger than this close the connection (Kafka's socket.request.max.bytes default). */
  maxRequestBytes?: number;
  log?: (message: string) => void;
}

const HOST = '127.0.0.1';
const DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024;

function readHeader(r: Reader): RequestHeader {
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32(), clientId: r.nullableString() };
}

export class KafkaTestBroker {
  private readonly handlers = new Map<number, ApiHandler>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private nextConnectionId = 1;

  private constructor(
    private readonly state: BrokerState,
    private readonly options: KafkaTestBrokerOptions,
  ) {
    const builtIn = [
      apiVersionsHandler(() => [...this.handlers.values()]),
      metadataHandler(state),
      createTopicsHandler(state),
      initProducerIdHandler(state),
      produceHandler(state),
      fetchHandler(state),
      listOffsetsHandler(state),
    ];
    for (const handler of [...builtIn, ...(options.extraHandlers ?? [])]) this.handlers.set(handler.apiKey, handler);
  }

  static async start(options: KafkaTestBrokerOptions = {}): Promise<KafkaTestBroker> {
    const broker = new KafkaTestBroker(new BrokerState(options.autoCreateTopics ?? false), options);
    await broker.listen(options.port ?? 0);
    return broker;
  }

  get host(): string {
    return this.state.host;
  }

  get port(): number {
    return this.state.port;
  }

  /** `host:port`, as kafkajs's `brokers` option takes it. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The log itself, for tests that want to look at what was stored. */
  get topics(): TopicStore {
    return this.state.topics;
  }

  /** Drops every connection and stops listening; topics and offsets stay for restart(). */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.state.stopping.abort();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port, with the same topics and offsets. */
  async restart(): Promise<void> {
    await this.stop();
    this.state.stopping = new AbortController();
    await this.listen(this.state.port);
  }

  async close(): Promise<void> {
    await this.stop();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the broker is not listening on TCP');
    this.state.port = address.port;
    this.server = server;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const connection = { id: this.nextConnectionId++, clientHost: socket.remoteAddress ?? HOST };
    new ClientConnection(
      socket,
      async (request) => {
        const reader = new Reader(request);
        const header = readHeader(reader);
        return { correlationId: header.correlationId, body: await this.answer(reader, header, connection) };
      },
      this.options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      this.log,
    );
  }

  private answer(
    body: Reader,
    header: RequestHeader,
    connection: { id: number; clientHost: string },
  ): Buffer | Promise<Buffer> {
    const handler = this.handlers.get(header.apiKey);
    if (handler && header.apiVersion >= handler.minVersion && header.apiVersion <= handler.maxVersion) {
      return handler.handle(body, header, connection);
    }
    this.log(
      `unsupported request: api key ${header.apiKey} (${handler?.name ?? 'unknown'}) version ${header.apiVersion} from ${header.clientId ?? 'anonymous client'}`,
    );
    if (header.apiKey === API_VERSIONS_KEY) return unsupportedApiVersionsBody([...this.handlers.values()]);
    // Outside ApiVersions the guide defines no common error layout; a bare error code is the least surprising answer.
    return new Writer().int16(ErrorCode.UNSUPPORTED_VERSION).toBuffer();
  }

  private readonly log = (message: string): void => {
    (this.options.log ?? ((m: string) => console.warn(`[kafka-test-broker] ${m}`)))(message);
  };
}
