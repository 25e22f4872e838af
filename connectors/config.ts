/**
 * The connector kinds' configs, apart from their implementations: the config schema and `cityhub` commands that only
 * read a config load this, not every connector's dependencies (the S3 client, exceljs, MQTT, fastify, pg).
 */

import { z } from 'zod';
import { demoConnectorConfig } from './demo/config.js';
import { deptFilesConnectorConfig } from './dept-files/config.js';
import { hotlineRestConnectorConfig } from './hotline-rest/config.js';
import { hotlineSqlConnectorConfig } from './hotline-sql/config.js';
import { httpIngestConnectorConfig } from './http-ingest/config.js';
import { rawFilesConnectorConfig } from './raw-files/config.js';
import { sensorMqttConnectorConfig } from './sensor-mqtt/config.js';
import { type ProvidedCatalogName, providedCatalogNames } from './types.js';

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
