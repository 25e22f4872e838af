import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelCycleError, ModelDefinitionError } from './errors.js';
import { parseModelFile } from './header.js';
import { loadProject } from './project.js';
import { tempDirs } from './testing.js';

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const sqlDirWith = (files: Record<string, string>) => dirs.withFiles(files);

const model = (name: string, fields: Record<string, string> = {}, body = 'select 1 as x') =>
  `${Object.entries({ name, description: `the ${name} model`, materialization: 'table', ...fields })
    .map(([k, v]) => `-- ${k}: ${v}`)
    .join('\n')}\n\n${body}\n`;

async function definitionError(files: Record<string, string>): Promise<ModelDefinitionError> {
  const dir = await sqlDirWith(files);
  const err = await loadProject(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelDefinitionError);
  return err as ModelDefinitionError;
}

describe('parseModelFile', () => {
  it('reads every header field, continuation lines included, test severities (error by default, warn: opt-in), and the body', () => {
    const { header, body } = parseModelFile(
      '/sql/marts/mart_x.sql',
      [
        '-- name: mart_x',
        '-- description: first line',
        '--   and its continuation',
        '-- materialization: table',
        '-- grain: (grain, period, region_code)',
        '-- depends_on: int_periods, int_region_scope',
        '-- tests: unique(grain, period); not_null(a, b);',
        '--   warn: accepted_values(grain: month|quarter|year); error: relationships(region_code -> int_region_scope.region_code);',
        "--   expression(rate is null or (rate between 0 and 1 and note <> 'a;b'))",
        '',
        'select 1 as a;',
      ].join('\n'),
    );
    expect(body).toBe('select 1 as a');
    expect(header).toEqual({
      name: 'mart_x',
      description: 'first line and its continuation',
      materialization: 'table',
      grain: ['grain', 'period', 'region_code'],
      dependsOn: ['int_periods', 'int_region_scope'],
      tests: [
        { severity: 'error', kind: 'unique', name: 'unique(grain, period)', columns: ['grain', 'period'] },
        { severity: 'error', kind: 'not_null', name: 'not_null(a)', column: 'a' },
        { severity: 'error', kind: 'not_null', name: 'not_null(b)', column: 'b' },
        {
          severity: 'warn',
          kind: 'accepted_values',
          name: 'accepted_values(grain: month|quarter|year)',
          column: 'grain',
          values: ['month', 'quarter', 'year'],
        },
        {
          severity: 'error',
          kind: 'relationships',
          name: 'relationships(region_code -> int_region_scope.region_code)',
          column: 'region_code',
          toModel: 'int_region_scope',
          toColumn: 'region_code',
        },
        {
          severity: 'error',
          kind: 'expression',
          name: "expression(rate is null or (rate between 0 and 1 and note <> 'a;b'))",
          expression: "rate is null or (rate between 0 and 1 and note <> 'a;b')",
        },
      ],
    });
  });

  it.each([
    ['-- description: d\n-- materialization: table\nselect 1', 'name'],
    ['-- name: m\n-- materialization: table\nselect 1', 'description'],
    ['-- name: m\n-- description: d\n-- materialization: snapshot\nselect 1', 'materialization'],
    ['-- name: m\n-- description: d\n-- materialization: incremental\nselect 1', 'incremental_by'],
    ['-- name: m\n-- description: d\n-- materialization: table\n-- incremental_by: day\nselect 1', 'incremental_by'],
    ['-- name: m\n-- description: d\n-- materialization: table\n-- owner: me\nselect 1', 'owner'],
    ['-- name: m\n-- description: d\n-- materialization: table\n-- tests: unique(a); fresh(a)\nselect 1', 'tests'],
    ['-- name: m\n-- description: d\n-- materialization: table\n-- grain: a, b\nselect 1', 'grain'],
    ['-- name: m\n-- description: d\n-- materialization: table\n', 'sql'],
  ])('rejects a bad header, naming the field (%#)', (text, field) => {
    expect(() => parseModelFile('/sql/marts/m.sql', text)).toThrow(
      expect.objectContaining({ name: 'ModelDefinitionError', field, file: '/sql/marts/m.sql' }),
    );
  });
});

describe('loadProject', () => {
  it('orders models so every model comes after what it depends on', async () => {
    const dir = await sqlDirWith({
      'marts/mart_b.sql': model('mart_b', { depends_on: 'int_a, seed_regions' }),
      'intermediate/int_a.sql': model('int_a', { depends_on: 'stg_lake__x', materialization: 'view' }),
      'staging/stg_lake__x.sql': model(
        'stg_lake__x',
        { materialization: 'view' },
        "select * from {{ source('lake', 'sensor_reading') }}",
      ),
      'seeds/regions.csv': 'code,name,level,parent_code\n',
    });
    const project = await loadProject(dir);
    expect(project.models.map((m) => [m.name, m.layer, m.sources])).toEqual([
      ['stg_lake__x', 'staging', ['sensor_reading']],
      ['int_a', 'intermediate', []],
      ['mart_b', 'marts', []],
    ]);
  });

  it('rejects a name that differs from the file name', async () => {
    const err = await definitionError({ 'marts/mart_a.sql': model('mart_b') });
    expect(err.field).toBe('name');
    expect(err.file).toMatch(/marts\/mart_a\.sql$/);
  });

  it('rejects a dependency on an unknown model', async () => {
    const err = await definitionError({ 'marts/mart_a.sql': model('mart_a', { depends_on: 'int_missing' }) });
    expect(err.field).toBe('depends_on');
    expect(err.message).toContain('int_missing');
  });

  it('rejects a mart that is not a table, since the marts file must stand alone', async () => {
    const err = await definitionError({ 'marts/mart_a.sql': model('mart_a', { materialization: 'view' }) });
    expect(err.field).toBe('materialization');
  });

  it('rejects an incremental model that reads a table: its days could change without their lake files changing', async () => {
    const err = await definitionError({
      'intermediate/int_a.sql': model('int_a'),
      'intermediate/int_b.sql': model(
        'int_b',
        { materialization: 'incremental', incremental_by: 'day', depends_on: 'int_a, seed_devices' },
        'select current_date as day from int_a',
      ),
    });
    expect(err.field).toBe('depends_on');
    expect(err.message).toMatch(/reads only staging models and seeds; "int_a" is neither/);
  });

  it('reads a model incremental by (grain, period) with its facts', () => {
    const { header } = parseModelFile(
      '/sql/marts/mart_x.sql',
      [
        '-- name: mart_x',
        '-- description: d',
        '-- materialization: incremental',
        '-- incremental_by: (grain, period)',
        '-- period_facts: int_a(day: received_date; dates: received_date, deadline_date;',
        '--     cutoff: closed_at), int_b(day: d; dates: d)',
        'select 1',
      ].join('\n'),
    );
    expect(header.incrementalBy).toEqual({
      kind: 'period',
      facts: [
        { relation: 'int_a', day: 'received_date', dates: ['received_date', 'deadline_date'], cutoff: ['closed_at'] },
        { relation: 'int_b', day: 'd', dates: ['d'], cutoff: [] },
      ],
    });
  });

  it.each([
    ['day: d; dates: d', '-- incremental_by: day'],
    ['int_a(day: d)', '-- incremental_by: (grain, period)'],
    ['int_a(day: d, e; dates: d)', '-- incremental_by: (grain, period)'],
    ['int_a(when: d; dates: d)', '-- incremental_by: (grain, period)'],
  ])('rejects bad period_facts "%s", naming the field', (facts, by) => {
    const text = `-- name: m\n-- description: d\n-- materialization: incremental\n${by}\n-- period_facts: ${facts}\nselect 1`;
    expect(() => parseModelFile('/sql/marts/m.sql', text)).toThrow(
      expect.objectContaining({ name: 'ModelDefinitionError', field: 'period_facts' }),
    );
  });

  it('rejects a period-incremental model that reads a lake-derived table its period_facts do not list', async () => {
    const staging = model(
      'stg_lake__sensor_reading',
      { materialization: 'view' },
      "select * from {{ source('lake', 'sensor_reading') }}",
    );
    const err = await definitionError({
      'staging/stg_lake__sensor_reading.sql': staging,
      'intermediate/int_periods.sql': model('int_periods'),
      'intermediate/int_a.sql': model('int_a', { depends_on: 'stg_lake__sensor_reading' }),
      'intermediate/int_b.sql': model('int_b', { depends_on: 'stg_lake__sensor_reading' }),
      'marts/mart_a.sql': model('mart_a', {
        materialization: 'incremental',
        incremental_by: '(grain, period)',
        period_facts: 'int_a(day: d; dates: d)',
        depends_on: 'int_periods, int_a, int_b',
      }),
    });
    expect(err.field).toBe('period_facts');
    expect(err.message).toMatch(/reads "int_b", which depends on the lake, but period_facts does not list it/);
  });

  it('rejects a day-incremental model that reads hub_settings: its cut-off moves every day', async () => {
    const err = await definitionError({
      'intermediate/int_b.sql': model('int_b', {
        materialization: 'incremental',
        incremental_by: 'day',
        depends_on: 'hub_settings',
      }),
    });
    expect(err.field).toBe('depends_on');
    expect(err.message).toMatch(/cannot read hub_settings/);
  });

  it('rejects a mart that reads another mart: shared logic belongs in an intermediate model', async () => {
    const err = await definitionError({
      'marts/mart_a.sql': model('mart_a'),
      'marts/mart_b.sql': model('mart_b', { depends_on: 'mart_a' }, 'select * from mart_a'),
    });
    expect(err.field).toBe('depends_on');
    expect(err.message).toMatch(/a mart reads intermediate models, not other marts \("mart_a"\)/);
  });

  it('rejects an unknown lake dataset and lake reads outside staging', async () => {
    expect(
      (await definitionError({ 'staging/stg_a.sql': model('stg_a', {}, "select * from {{ source('lake', 'nope') }}") }))
        .field,
    ).toBe('sql');
    expect(
      (
        await definitionError({
          'intermediate/int_a.sql': model('int_a', {}, "select * from {{ source('lake', 'sensor_reading') }}"),
        })
      ).field,
    ).toBe('sql');
  });

  it('rejects a relationships test towards an unknown model', async () => {
    const err = await definitionError({
      'marts/mart_a.sql': model('mart_a', { tests: 'relationships(x -> int_nowhere.x)' }),
    });
    expect(err.field).toBe('tests');
  });

  it('names the models of a dependency cycle', async () => {
    const dir = await sqlDirWith({
      'intermediate/int_a.sql': model('int_a', { depends_on: 'int_c' }),
      'intermediate/int_b.sql': model('int_b', { depends_on: 'int_a' }),
      'intermediate/int_c.sql': model('int_c', { depends_on: 'int_b' }),
      'marts/mart_d.sql': model('mart_d', { depends_on: 'int_a' }),
    });
    const err = await loadProject(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelCycleError);
    expect((err as ModelCycleError).cycle).toEqual(['int_a', 'int_c', 'int_b', 'int_a']);
    expect((err as ModelCycleError).message).toContain('int_a -> int_c -> int_b -> int_a');
  });

  it('loads the project in sql/ without errors', async () => {
    const project = await loadProject(join(import.meta.dirname, '..', '..', 'sql'));
    expect(project.models.map((m) => m.name)).toEqual(
      expect.arrayContaining(['mart_data_sharing', 'mart_scenario_coverage', 'mart_scenario_status']),
    );
  });
});
