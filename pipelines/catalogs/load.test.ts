import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundledRegionsPath, CatalogError, loadCatalogFile } from './load.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-catalogs-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function catalogError(load: () => unknown): CatalogError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }
  throw new Error('expected a CatalogError');
}

describe('bundled region catalog (GB/T 2260, Zhejiang)', () => {
  it('loads 39 regions: the province, its three cities and their districts', () => {
    const regions = loadCatalogFile('regions', bundledRegionsPath());
    expect(regions).toHaveLength(39);
    expect(regions[0]).toEqual({ code: '330000', name: '浙江省', level: 'province' });
    expect(regions.filter((r) => r.level === 'city').map((r) => r.name)).toEqual(['杭州市', '宁波市', '温州市']);
    expect(regions.find((r) => r.code === '330106')).toEqual({
      code: '330106',
      name: '西湖区',
      level: 'district',
      parent_code: '330100',
    });
  });

  it('has a parent in the catalog for every region but the province', () => {
    const regions = loadCatalogFile('regions', bundledRegionsPath());
    const codes = new Set(regions.map((r) => r.code));
    for (const region of regions.filter((r) => r.level !== 'province')) {
      expect(codes.has(region.parent_code!), region.code).toBe(true);
    }
  });
});

describe('loading a city’s own region catalog', () => {
  it('reads an Excel-style CSV export (UTF-8 BOM, CRLF line ends)', async () => {
    const path = await file(
      'regions.csv',
      '\uFEFFcode,name,level,parent_code\r\n330000,浙江省,province,\r\n330100,杭州市,city,330000\r\n330106,西湖区,district,330100\r\n',
    );
    expect(loadCatalogFile('regions', path).map((r) => [r.code, r.name])).toEqual([
      ['330000', '浙江省'],
      ['330100', '杭州市'],
      ['330106', '西湖区'],
    ]);
  });

  it('names file, line and field of a region with a level the schema does not know', async () => {
    const path = await file(
      'regions.csv',
      'code,name,level,parent_code\n330100,杭州市,city,330000\n330106,西湖区,county,330100\n',
    );
    const error = catalogError(() => loadCatalogFile('regions', path));
    expect(error).toMatchObject({ file: path, line: 3, field: 'level' });
    expect(error.message).toContain(`${path}:3 field level`);
  });

  it('names the field of a malformed region code', async () => {
    const path = await file('regions.csv', 'code,name,level,parent_code\n3301,杭州市,city,330000\n');
    expect(catalogError(() => loadCatalogFile('regions', path))).toMatchObject({ line: 2, field: 'code' });
  });

  it('reports the line as it is in the file when blank lines precede the bad row', async () => {
    const path = await file(
      'regions.csv',
      'code,name,level,parent_code\n330100,杭州市,city,330000\n\n330106,西湖区,county,330100\n',
    );
    expect(catalogError(() => loadCatalogFile('regions', path))).toMatchObject({ line: 4, field: 'level' });
  });

  it('reads a JSON array and numbers its entries from 1', async () => {
    const path = await file(
      'regions.json',
      JSON.stringify([
        { code: '330000', name: '浙江省', level: 'province' },
        { code: '330100', name: '', level: 'city', parent_code: '330000' },
      ]),
    );
    expect(catalogError(() => loadCatalogFile('regions', path))).toMatchObject({ file: path, line: 2, field: 'name' });
  });

  it('rejects a JSON file that is not an array, naming the file', async () => {
    const path = await file('regions.json', JSON.stringify({ 330000: '浙江省' }));
    const error = catalogError(() => loadCatalogFile('regions', path));
    expect(error).toMatchObject({ file: path, line: undefined });
    expect(error.message).toContain('expected a JSON array');
  });

  it('names the file when it cannot be read', () => {
    const path = join(dir, '不存在.csv');
    const error = catalogError(() => loadCatalogFile('regions', path));
    expect(error.file).toBe(path);
    expect(error.message).toContain(path);
  });
});

describe('device registry CSV', () => {
  it('turns numeric cells into numbers and empty cells into absent fields', async () => {
    const path = await file(
      'devices.csv',
      'device_id,device_type,region_code,grid_code,reporting_interval_s,installed_on,removed_on,lon,lat\n' +
        'GAS-330106-0001,gas_methane,330106,330106001001001,300,2026-01-15,,120.13,30.25\n',
    );
    expect(loadCatalogFile('devices', path)).toEqual([
      {
        device_id: 'GAS-330106-0001',
        device_type: 'gas_methane',
        region_code: '330106',
        grid_code: '330106001001001',
        reporting_interval_s: 300,
        installed_on: '2026-01-15',
        lon: 120.13,
        lat: 30.25,
      },
    ]);
  });
});
