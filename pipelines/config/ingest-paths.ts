/**
 * Which path each mapping's records take (issue 12), for `config check`: the bulk path when the mapping compiles to
 * SQL and landing.bulk is on, else the record path with the reason, decided by bulkPathOf as the hub's normalizers
 * decide it.
 */
import { type Feed, feeds } from '../../connectors/types.js';
import type { LoadedMapping } from '../mapping/compile.js';
import { builtinMapping } from '../mapping/index.js';
import { bulkPathOf } from '../normalize/bulk-plan.js';
import type { LoadedConfig } from './load.js';
import type { PreflightResult } from './preflight.js';

export interface IngestPath {
  feed: Feed;
  /** The source the mapping applies to (a connector or source id), or undefined for the feed's own mapping. */
  source: string | undefined;
  /** The mapping file, or "built-in". */
  mapping: string;
  bulk: boolean;
  /** Why the record path, when not bulk. */
  reason?: string;
}

export function ingestPaths(loaded: LoadedConfig, checked: PreflightResult): IngestPath[] {
  const { config } = loaded;
  const byFeed = checked.mappings.byFeed as Partial<Record<Feed, LoadedMapping>>;
  const sources = [...checked.mappings.bySource];
  const options = {
    regionCodes: new Set(checked.catalogs.regions.map((r) => r.code)),
    minEventMs: 0,
    maxFutureSkewMs: config.landing.max_future_skew_ms,
    maxPayloadBytes: config.landing.max_payload_bytes,
  };
  const pathOf = (feed: Feed, source: string | undefined, mapping: LoadedMapping | undefined): IngestPath => {
    const entry = { feed, source, mapping: mapping?.file ?? 'built-in' };
    const plan = bulkPathOf(mapping, { bulk: config.landing.bulk }, options);
    return plan.ok ? { ...entry, bulk: true } : { ...entry, bulk: false, reason: plan.reason };
  };
  return [
    ...feeds.map((feed) => pathOf(feed, undefined, byFeed[feed] ?? builtinMapping(feed).loaded)),
    ...sources.map(([source, mapping]) => pathOf(mapping.feed, source, mapping)),
  ];
}

/** One line per mapping, as `config check` prints it. */
export function describeIngestPath(path: IngestPath): string {
  const who = path.source === undefined ? path.feed : `${path.feed} from ${path.source}`;
  const how = path.bulk
    ? 'bulk path (DuckDB maps and checks; the rest on the record path)'
    : `record path: ${path.reason}`;
  return `  (ingest) ${who} = ${how}  [mapping ${path.mapping}]`;
}
