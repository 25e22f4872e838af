import type { Feed } from '../../connectors/types.js';
import { deptMapping } from '../normalize/mappings/dept.js';
import type { SourceMapping } from '../normalize/mappings/types.js';
import { compileMapping, type MappingCatalogs } from './compile.js';
import { builtinMappingPath, loadMappingFile } from './load.js';

const noCatalogs: MappingCatalogs = { regions: [], devices: [], data_resources: [] };
const builtins = new Map<Feed, SourceMapping>();

/**
 * The mapping of a feed when the config names none: the demo city's vendors, shipped as mapping files under
 * `mappings/demo/` (docs/feeds.md). Departmental deliveries keep their structured built-in mapping (a delivery and its
 * records), which files and tables reach through the dept-files connector. Their catalog lookups see no catalogs:
 * the demo's mappings use none.
 */
export function builtinMapping(feed: Feed): SourceMapping {
  let mapping = builtins.get(feed);
  if (!mapping) {
    mapping =
      feed === 'dept' ? deptMapping : compileMapping(loadMappingFile(builtinMappingPath(feed), feed), noCatalogs);
    builtins.set(feed, mapping);
  }
  return mapping;
}

/** A configured mapping file for a feed, compiled against the hub's catalogs. */
export function configuredMapping(file: string, feed: Feed, catalogs: MappingCatalogs): SourceMapping {
  return compileMapping(loadMappingFile(file, feed), catalogs);
}

export { type MappingCatalogs, MappingCompileError } from './compile.js';
export { MappingFileError } from './load.js';
