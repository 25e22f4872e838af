import { z } from 'zod';
import { feeds } from '../types.js';

/**
 * A folder of raw bodies pushed onto one feed: each regular file is one message for `raw.<feed>`, sent byte for
 * byte in file-name order, then moved to `<path>/.sent/`. For replays, backfills and tests: any body reaches the
 * hub by configuration alone. See docs/connectors.md.
 */
export const rawFilesConnectorConfig = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)')
      .describe('connector id, named in logs, health and its dead letters'),
    kind: z.literal('raw-files'),
    path: z
      .string()
      .min(1)
      .describe(
        'folder to read (relative to the config file); every regular file not starting with "." is one message; sent files move to <path>/.sent/',
      ),
    feed: z.enum(feeds).describe('the feed the bodies belong to: each file goes to raw.<feed> as it is'),
    mapping: z
      .string()
      .min(1)
      .optional()
      .describe(
        "mapping file (YAML, docs/mappings.md) for this source's bodies, relative to the config; default: the feed's mapping (`mappings.<feed>`, else the built-in one)",
      ),
    poll_interval_ms: z
      .number()
      .int()
      .min(10)
      .max(3_600_000)
      .default(1000)
      .describe('how often an empty folder is looked at again'),
    once: z
      .boolean()
      .default(false)
      .describe('stop once the folder is empty (a bounded replay) instead of waiting for new files'),
  })
  .strict();

export type RawFilesConnectorConfig = z.infer<typeof rawFilesConnectorConfig>;
