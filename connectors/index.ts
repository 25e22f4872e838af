import { resolve } from 'node:path';
import { z } from 'zod';
import type { Region } from '../schemas/index.js';
import { demoConnectorConfig } from './demo/config.js';
import { DemoConnector } from './demo/connector.js';
import { deptFilesConnectorConfig } from './dept-files/config.js';
import { DeptFilesConnector, deptFilesStateDir } from './dept-files/connector.js';
import { hotlineRestConnectorConfig } from './hotline-rest/config.js';
import { createHotlineRestConnector } from './hotline-rest/connector.js';
import { hotlineSqlConnectorConfig } from './hotline-sql/config.js';
import { createHotlineSqlConnector } from './hotline-sql/connector.js';
import { httpIngestConnectorConfig } from './http-ingest/config.js';
import { HttpIngestConnector } from './http-ingest/connector.js';
import { rawFilesConnectorConfig } from './raw-files/config.js';
import { RawFilesConnector } from './raw-files/connector.js';
import { sensorMqttConnectorConfig } from './sensor-mqtt/config.js';
import { SensorMqttConnector } from './sensor-mqtt/connector.js';
import { type Connector, type ProvidedCatalogName, providedCatalogNames } from './types.js';

/** Every connector kind, by its `kind` tag. Registered explicitly: adding a kind means adding it here. */
export const connectorConfig = z.discriminatedUnion('kind', [
  demoConnectorConfig,
  rawFilesConnectorConfig,
  deptFilesConnectorConfig,
  hotlineRestConnectorConfig,
  hotlineSqlConnectorConfig,
  httpIngestConnectorConfig,
  sensorMqttConnectorConfig,
]);
export type ConnectorConfig = z.infer<typeof connectorConfig>;

/**
 * The reference catalogs each connector kind hands over through `Connector.writeCatalogs`. A catalog that is neither
 * configured (`catalogs.<name>`) nor provided by a configured connector is a config error, so a kind listed here
 * must write every catalog it declares.
 */
export const catalogsProvidedBy: Readonly<Record<ConnectorConfig['kind'], readonly ProvidedCatalogName[]>> = {
  // The simulator generates its own city: its devices, resources and scenarios only make sense together.
  demo: providedCatalogNames,
  'raw-files': [],
  'dept-files': [],
  'hotline-rest': [],
  'hotline-sql': [],
  'http-ingest': [],
  'sensor-mqtt': [],
};

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

export * from './types.js';
