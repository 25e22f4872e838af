import type { Feed } from '../../../connectors/types.js';
import { deptMapping } from './dept.js';
import { eventMapping } from './event.js';
import { hotlineMapping } from './hotline.js';
import { sensorMapping } from './sensor.js';
import type { SourceMapping } from './types.js';
import { videoMapping } from './video.js';

/** The built-in source mapping of each feed (docs/feeds.md). */
export const mappings: Readonly<Record<Feed, SourceMapping>> = {
  sensor: sensorMapping,
  video: videoMapping,
  hotline: hotlineMapping,
  event: eventMapping,
  dept: deptMapping,
};

export * from './types.js';
