import { describe, expect, it } from 'vitest';
import { compileFields, recordIssues } from '../../pipelines/normalize/resource-fields.js';
import { dataResource } from '../../schemas/index.js';
import { invalidRecord, makeRecord, recordTemplates, type TemplateName, templateFields } from './dept-records.js';
import { resourceCatalog } from './layout.js';
import { Rng } from './rng.js';
import { city } from './testing/fixtures.js';
import { dayOfDate } from './time.js';

const templates = Object.keys(recordTemplates) as TemplateName[];
const regionsOf = (template: TemplateName) =>
  resourceCatalog.filter((r) => r.template === template).map((r) => r.region);

describe('demo data resources declare their record fields', () => {
  const c = city();

  it('every catalogued resource declares the fields of its template, and the catalog schema accepts them', () => {
    expect(c.catalogs.data_resources.length).toBeGreaterThan(0);
    for (const resource of c.catalogs.data_resources) {
      const layout = resourceCatalog.find((r) => r.code === resource.resource_code)!;
      expect(resource.fields, resource.resource_code).toEqual(templateFields(layout.template));
      expect(dataResource.safeParse(resource).error, resource.resource_code).toBeUndefined();
    }
  });

  it('declares codes, dates and amounts with their types, not as free text', () => {
    const fields = (template: TemplateName) => new Map(templateFields(template).map((f) => [f.name, f]));
    const credit = fields('legal_entity').get('统一社会信用代码')!;
    expect(credit.type).toBe('code');
    expect(compileFields([credit])[0]!.pattern!.test('91330106MA2B3C4D5E')).toBe(true);
    expect(compileFields([credit])[0]!.pattern!.test('91330106MA2B3C4D5I')).toBe(false); // I is not in GB 32100
    expect(fields('legal_entity').get('成立日期')!).toMatchObject({ type: 'date', required: true });
    expect(fields('enforcement').get('处罚金额(元)')!).toMatchObject({ type: 'integer', required: true });
    expect(fields('population').get('常住人口(万人)')!).toMatchObject({ type: 'decimal', required: true });
    expect(fields('fume').get('监测时间')!).toMatchObject({ type: 'datetime', required: true });
    expect(fields('shops').get('地址')!).toMatchObject({ type: 'text', required: true });
  });

  it('every record a template generates passes its declared fields, and every invalid one fails them', () => {
    const rng = new Rng(20260801);
    // Days over three years (a leap day among them) and every region the template is catalogued in.
    const firstDay = dayOfDate('2024-01-01');
    for (const template of templates) {
      const fields = compileFields(templateFields(template));
      const regions = regionsOf(template);
      expect(regions.length, template).toBeGreaterThan(0);
      for (let i = 0; i < 2000; i++) {
        const context = { day: firstDay + rng.int(0, 1100), region: rng.pick(regions) };
        const record = makeRecord(rng, template, context);
        expect(recordIssues(record, fields, template), JSON.stringify(record)).toEqual([]);
        // The simulator blanks the first field of a valid record now and then (dept.ts).
        record[Object.keys(record)[0]!] = '';
        expect(recordIssues(record, fields, template), JSON.stringify(record)).toEqual([]);
        const invalid = invalidRecord(rng, template);
        expect(recordIssues(invalid, fields, template).length, JSON.stringify(invalid)).toBeGreaterThan(0);
      }
    }
  });

  it('in the simulated history, the records of each delivery that pass the declared fields are the planned valid ones', () => {
    const fieldsOf = new Map(c.catalogs.data_resources.map((r) => [r.resource_code, compileFields(r.fields!)]));
    let deliveries = 0;
    let invalidRecords = 0;
    for (const message of c.plan.messages) {
      if (message.feed !== 'dept' || message.kind !== 'valid') continue;
      const payload = JSON.parse(message.value) as { resourceCode: string; records: Record<string, unknown>[] };
      const fields = fieldsOf.get(payload.resourceCode)!;
      const passing = payload.records.filter((r) => recordIssues(r, fields, 'records').length === 0).length;
      expect(passing, message.key).toBe(message.landed);
      invalidRecords += payload.records.length - passing;
      deliveries++;
    }
    expect(deliveries).toBeGreaterThan(100);
    expect(invalidRecords).toBeGreaterThan(0);
  });
});
