/**
 * The API role inside a hub process: reads the marts file the models role publishes, listens on `api.listen`, and
 * stops accepting (then finishes what is in flight) at shutdown.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { buildApiApp } from './app.js';
import { AuditLog } from './audit.js';
import { MartsSnapshots } from './snapshot.js';
import { TokenRegistry } from './tokens.js';

export interface ServingApi {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

export async function serveApi(loaded: LoadedConfig, dataDir: string, log: Logger): Promise<ServingApi> {
  const { config, paths } = loaded;
  const snapshots = new MartsSnapshots(paths.martsPath);
  const audit = new AuditLog(join(dataDir, 'audit', 'api'), log);
  const app: FastifyInstance = buildApiApp({
    snapshots,
    tokens: new TokenRegistry(config.api.tokens, config.api.requests_per_minute),
    audit,
    log,
    trustedProxies: config.api.trusted_proxies,
    regionCode: config.region_code,
  });
  const at = config.api.listen.lastIndexOf(':');
  const host = config.api.listen.slice(0, at) || '0.0.0.0';
  const port = Number(config.api.listen.slice(at + 1));
  try {
    const url = await app.listen({ host, port });
    log.info({ url, tokens: config.api.tokens.map((t) => t.id), marts: paths.martsPath }, 'api listening');
    return {
      url,
      close: async () => {
        await app.close();
        snapshots.close();
        await audit.close();
      },
    };
  } catch (err) {
    await app.close();
    snapshots.close();
    throw err;
  }
}
