/**
 * The operations listener (`metrics.listen`): `GET /metrics` (Prometheus text) and `GET /api/v1/status` (JSON),
 * unauthenticated — meant for a Prometheus on the operators' network, never for the internet. node:http: two fixed
 * routes need no framework, and it keeps this listener apart from the tier API's (its own port, no token).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CityhubError } from '../errors.js';
import { EXPOSITION_CONTENT_TYPE } from './exposition.js';
import type { HubOps } from './hub-ops.js';

/** The listener could not bind its address (a port in use, an address not on this host). */
export class OpsListenError extends CityhubError {
  constructor(
    readonly listen: string,
    cause: unknown,
  ) {
    super(
      `metrics.listen ${listen}: could not listen (${cause instanceof Error ? cause.message : String(cause)}); free the port or set another`,
      { cause },
    );
  }
}

export interface OpsServer {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

/** Splits `host:port` (an empty host: every address). */
export function hostPort(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  return { host: listen.slice(0, at) || '0.0.0.0', port: Number(listen.slice(at + 1)) };
}

async function answer(ops: HubOps, log: Logger, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  const send = (status: number, type: string, body: string) => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  };
  if (path !== '/metrics' && path !== '/api/v1/status')
    return send(
      404,
      'application/json',
      JSON.stringify({ error: 'not_found', reason: 'GET /metrics or /api/v1/status' }),
    );
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(405, 'application/json', JSON.stringify({ error: 'method_not_allowed', reason: 'GET only' }));
  }
  try {
    if (path === '/metrics') return send(200, EXPOSITION_CONTENT_TYPE, await ops.metrics());
    return send(200, 'application/json', JSON.stringify(await ops.status()));
  } catch (error) {
    log.error({ err: error, path }, 'metrics request failed');
    return send(500, 'application/json', JSON.stringify({ error: 'internal', reason: 'see the hub log' }));
  }
}

export async function serveOps(listen: string, ops: HubOps, log: Logger): Promise<OpsServer> {
  const { host, port } = hostPort(listen);
  const server: Server = createServer((request, response) => void answer(ops, log, request, response));
  // A scrape is one short request: an idle keep-alive connection must not hold the shutdown.
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new OpsListenError(listen, error);
  }
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
