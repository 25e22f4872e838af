/**
 * What a `cityhub run` process does for its operators, beside its roles: the metrics listener (when
 * `metrics.listen` is set), started before anything else so a port in use stops the run before the bus is opened,
 * and the status file, started once the process owns its data dir (a hub refused by another hub's lock must not
 * overwrite that hub's status). Both end last, after the final marts build and the summary.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { memberSeedsOf } from '../federation/members.js';
import { HubOps } from './hub-ops.js';
import type { HubStatus } from './hub-status.js';
import { type OpsServer, serveOps } from './ops-server.js';
import { StatusFileWriter } from './status-file.js';

export interface RunningOps {
  readonly ops: HubOps;
  /** Where /metrics is served, when metrics.listen is set. */
  readonly url: string | undefined;
  /** Writes the status file now and every few seconds until close(). */
  startStatusFile(): Promise<void>;
  /** The process stopped: a last status write (state stopped), then the listener closes. */
  close(): Promise<void>;
}

export async function startOps(
  loaded: LoadedConfig,
  o: { role: HubStatus['role']; buildsMarts: boolean; log: Logger },
): Promise<RunningOps> {
  const { config, paths } = loaded;
  const federation = o.buildsMarts ? memberSeedsOf(loaded) : undefined;
  const ops = new HubOps({
    role: o.role,
    regionCode: config.region_code,
    log: o.log,
    buildsMarts: o.buildsMarts,
    ...(federation === undefined ? {} : { federation }),
  });
  const listen = config.metrics.listen;
  let server: OpsServer | undefined;
  if (listen !== undefined) {
    server = await serveOps(listen, ops, o.log);
    o.log.info({ url: server.url }, 'metrics and status listening');
  }
  const writer = new StatusFileWriter(resolve(paths.baseDir, config.data_dir), () => ops.status(), o.log);
  let writing = false;
  return {
    ops,
    url: server?.url,
    startStatusFile: async () => {
      writing = true;
      await writer.start();
    },
    close: async () => {
      ops.setState('stopped');
      if (writing) await writer.stop();
      await server?.close();
    },
  };
}
