/**
 * The API role inside a hub process: reads the marts file the models role publishes, listens on `api.listen`, and
 * stops accepting (then finishes what is in flight) at shutdown.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { LocalLakeStore } from '../land/local-store.js';
import { S3LakeStore } from '../land/s3-store.js';
import type { LakeStore } from '../land/store.js';
import { type ApiAppOptions, buildApiApp } from './app.js';
import { AuditLog } from './audit.js';
import { rollUpAuditDays } from './audit-rollup.js';
import { MartsSnapshots } from './snapshot.js';
import { TokenRegistry } from './tokens.js';

export interface ServingApi {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

/** `ops`: the hub process's status for `GET /api/v1/status`, and where its requests are counted (pipelines/ops). */
export async function serveApi(
  loaded: LoadedConfig,
  dataDir: string,
  log: Logger,
  ops: Pick<ApiAppOptions, 'status' | 'requests'> = {},
): Promise<ServingApi> {
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
    ...ops,
  });
  const at = config.api.listen.lastIndexOf(':');
  const host = config.api.listen.slice(0, at) || '0.0.0.0';
  const port = Number(config.api.listen.slice(at + 1));
  try {
    const url = await app.listen({ host, port });
    log.info({ url, tokens: config.api.tokens.map((t) => t.id), marts: paths.martsPath }, 'api listening');
    const rollup = auditRollup(loaded, join(dataDir, 'audit', 'api'), log);
    return {
      url,
      close: async () => {
        await app.close();
        snapshots.close();
        await audit.close();
        await rollup.stop();
      },
    };
  } catch (err) {
    await app.close();
    snapshots.close();
    throw err;
  }
}

const AUDIT_ROLLUP_EVERY_MS = 3_600_000;

/**
 * Moves the audit log's past days into the lake (audit-rollup.ts) at start and every hour, in the background: a
 * failure is logged and tried again at the next turn, and never stops the API.
 */
function auditRollup(loaded: LoadedConfig, auditDir: string, log: Logger): { stop: () => Promise<void> } {
  const { config, paths } = loaded;
  const s3 =
    config.lake.type === 's3' ? new S3LakeStore({ config: config.lake, cacheDir: paths.lakeCacheDir }) : undefined;
  const store: LakeStore = s3 ?? new LocalLakeStore(paths.lakeDir);
  let running: Promise<void> = Promise.resolve();
  const turn = () => {
    running = running
      .then(() => rollUpAuditDays(auditDir, store, { log }))
      .then(
        (outcome) => {
          if (outcome.files > 0) log.info(outcome, 'api audit log: past days moved into the lake (_audit/api)');
        },
        (err: unknown) => log.error({ err }, 'api audit log: moving past days into the lake failed; will retry'),
      );
  };
  turn();
  const timer = setInterval(turn, AUDIT_ROLLUP_EVERY_MS).unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      s3?.client.destroy();
    },
  };
}
