/** The bundled region catalog the bench's normalizers check against, and its districts the payloads name. */
import { bundledRegionsPath, loadCatalogFile } from '../../pipelines/catalogs/load.js';

export const regions = loadCatalogFile('regions', bundledRegionsPath());
export const districts = regions.filter((r) => r.level === 'district').map((r) => r.code);
/** Not in the catalog: a record naming it is dead-lettered as unknown_region. */
export const UNKNOWN_REGION = '999999';
