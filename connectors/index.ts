import { join } from 'node:path';
import { z } from 'zod';
import type { Region } from '../schemas/index.js';
import { demoConnectorConfig } from './demo/config.js';
import { DemoConnector } from './demo/connector.js';
import type { Connector } from './types.js';

/** Every connector kind, by its `kind` tag. Registered explicitly: adding a kind means adding it here. */
export const connectorConfig = z.discriminatedUnion('kind', [demoConnectorConfig]);
export type ConnectorConfig = z.infer<typeof connectorConfig>;

export interface ConnectorDeps {
  regions: Region[];
  /** Folder where connectors keep their durable cursors (one file per connector id). */
  checkpointDir: string;
}

export function createConnector(config: ConnectorConfig, deps: ConnectorDeps): Connector {
  switch (config.kind) {
    case 'demo':
      return new DemoConnector(config, deps.regions, { checkpointPath: join(deps.checkpointDir, `${config.id}.json`) });
  }
}

export * from './types.js';
