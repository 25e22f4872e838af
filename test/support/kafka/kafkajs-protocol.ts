/**
 * kafkajs's own request encoders and response decoders (node_modules/kafkajs/src/protocol), so tests put real kafkajs
 * bytes on the wire and read the broker's answers the way kafkajs does. They are internal, untyped CommonJS modules:
 * the types below are the little of them the tests use.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buffer: Buffer;
}

export interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode(): Promise<KafkajsEncoder>;
}

export interface KafkajsProtocol {
  request: KafkajsRequest;
  response: { decode(body: Buffer): Promise<unknown>; parse(decoded: unknown): Promise<unknown> };
}

type RequestArguments = Record<string, unknown>;

interface KafkajsRequestDefinition {
  versions: string[];
  protocol(options: { version: number }): (args?: RequestArguments) => KafkajsProtocol;
}

const { requests } = require('kafkajs/src/protocol/requests/index.js') as {
  requests: Record<string, KafkajsRequestDefinition>;
};
const encodeFrame = require('kafkajs/src/protocol/request.js') as (options: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<KafkajsEncoder>;

/** The kafkajs request and response codec for `api` at `version`, built from `args`. */
export function kafkajsProtocol(api: string, version: number, args: RequestArguments = {}): KafkajsProtocol {
  const definition = requests[api];
  if (definition === undefined) throw new Error(`kafkajs has no request ${api}`);
  return definition.protocol({ version })(args);
}

/** The request body alone (no header), as kafkajs encodes it. */
export async function kafkajsRequestBody(protocol: KafkajsProtocol): Promise<Buffer> {
  return (await protocol.request.encode()).buffer;
}

/** The whole size-prefixed frame, header v1 included, exactly as kafkajs writes it to the socket. */
export async function kafkajsFrame(protocol: KafkajsProtocol, correlationId: number): Promise<Buffer> {
  return (await encodeFrame({ correlationId, clientId: 'cityhub-test', request: protocol.request })).buffer;
}

const Long = require('kafkajs/src/utils/long.js') as { fromString(value: string): unknown };

/** kafkajs's int64 type, for producer ids and offsets given to its encoders. */
export function kafkajsLong(value: bigint): unknown {
  return Long.fromString(value.toString());
}
