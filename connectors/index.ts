import { resolve } from 'node:path';
import type { Region } from '../schemas/index.js';
import type { ConnectorConfig } from './config.js';
import { DemoConnector } from './demo/connector.js';
import { DeptFilesConnector, deptFilesStateDir } from './dept-files/connector.js';
import { createHotlineRestConnector } from './hotline-rest/connector.js';
import { createHotlineSqlConnector } from './hotline-sql/connector.js';
import { HttpIngestConnector } from './http-ingest/connector.js';
import { RawFilesConnector } from './raw-files/connector.js';
import { SensorMqttConnector } from './sensor-mqtt/connector.js';
import type { Connector } from './types.js';

export interface ConnectorDeps {
  regions: Region[];
  /** Folder where connectors keep their durable cursors (one file per connector id). */
  checkpointDir: string;
  /** Folder that relative paths in a connector's config are resolved against (the config file's; default: cwd). */
  baseDir?: string;
}

export function createConnector(config: ConnectorConfig, deps: ConnectorDeps): Connector {
  switch (config.kind) {
    case 'demo':
      return new DemoConnector(config, deps.regions, { baseDir: deps.baseDir ?? process.cwd() });
    case 'raw-files':
      return new RawFilesConnector(config, resolve(deps.baseDir ?? process.cwd(), config.path));
    case 'dept-files':
      return new DeptFilesConnector(
        config,
        config.source.type === 'folder' ? resolve(deps.baseDir ?? process.cwd(), config.source.path) : undefined,
        deptFilesStateDir(deps.checkpointDir, config.id),
      );
    case 'hotline-rest':
      return createHotlineRestConnector(config);
    case 'hotline-sql':
      return createHotlineSqlConnector(config);
    case 'http-ingest':
      return new HttpIngestConnector(config);
    case 'sensor-mqtt':
      return new SensorMqttConnector(config, { baseDir: deps.baseDir ?? process.cwd() });
  }
}

export * from './config.js';
export * from './types.js';
