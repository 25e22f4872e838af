import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelDefinitionError } from './errors.js';
import { modelFingerprints } from './incremental.js';
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

const model = (name: string, body: string) =>
  `-- name: ${name}\n-- description: the ${name} model\n-- materialization: table\n\n${body}\n`;

const macro = (signature: string, body: string, description = 'a shared block') =>
  `-- macro: ${signature}\n-- description: ${description}\n--   over two lines\n${body}\n`;

async function bodyOf(files: Record<string, string>, name: string): Promise<string> {
  const project = await loadProject(await sqlDirWith(files));
  return project.models.find((m) => m.name === name)!.body;
}

async function definitionError(files: Record<string, string>): Promise<ModelDefinitionError> {
  const err = await loadProject(await sqlDirWith(files)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelDefinitionError);
  return err as ModelDefinitionError;
}

describe('SQL macros', () => {
  it("expands a project's macro with its arguments, indented like the call, quotes unescaped", async () => {
    const body = await bodyOf(
      {
        'macros/pick.sql': macro('pick(relation, label)', 'select\n    {{ label }} as label\nfrom {{ relation }}'),
        'intermediate/int_x.sql': model(
          'int_x',
          "with\n\npicked as (\n    {{ pick('int_y', 'it''s') }}\n)\n\nselect * from picked",
        ),
        'intermediate/int_y.sql': model('int_y', 'select 1 as x'),
      },
      'int_x',
    );
    expect(body).toBe(
      "with\n\npicked as (\n    select\n        it's as label\n    from int_y\n)\n\nselect * from picked",
    );
  });

  it('gives every project the bundled macros, and lets a project redefine one under its name', async () => {
    const call = "select {{ shanghai_date('t') }} as d from (select timestamptz '2026-07-31 16:30:00+00' as t)";
    const bundled = await bodyOf({ 'intermediate/int_x.sql': model('int_x', call) }, 'int_x');
    expect(bundled).toContain("cast(timezone('UTC', cast(t as timestamptz)) + interval 8 hour as date)");
    const own = await bodyOf(
      {
        'macros/shanghai_date.sql': macro('shanghai_date(timestamp)', 'date_trunc({{ timestamp }})'),
        'intermediate/int_x.sql': model('int_x', call),
      },
      'int_x',
    );
    expect(own).toContain('select date_trunc(t) as d');
  });

  it('changes the fingerprint of the models that use a macro, and of what reads them, when the macro changes', async () => {
    const files = (macroBody: string) => ({
      'macros/one.sql': macro('one()', macroBody),
      'intermediate/int_a.sql': model('int_a', 'select {{ one() }} as x'),
      'intermediate/int_b.sql': model('int_b', 'select 2 as y'),
      'marts/mart_c.sql': model('mart_c', 'select * from int_a').replace(
        '-- materialization: table',
        '-- materialization: table\n-- depends_on: int_a',
      ),
    });
    const before = modelFingerprints(await loadProject(await sqlDirWith(files('1'))), new Map());
    const after = modelFingerprints(await loadProject(await sqlDirWith(files('2'))), new Map());
    expect(after.get('int_a')).not.toBe(before.get('int_a'));
    expect(after.get('mart_c')).not.toBe(before.get('mart_c'));
    expect(after.get('int_b')).toBe(before.get('int_b'));
  });

  it('refuses an unknown macro, naming the model file and the macros there are', async () => {
    const err = await definitionError({ 'intermediate/int_x.sql': model('int_x', "select {{ pik('a') }}") });
    expect(err.file).toMatch(/int_x\.sql$/);
    expect(err.message).toContain('unknown macro pik()');
    expect(err.message).toContain('first_landed');
  });

  it('refuses a call with the wrong number of arguments', async () => {
    const err = await definitionError({
      'intermediate/int_x.sql': model('int_x', "select {{ shanghai_date('a', 'b') }}"),
    });
    expect(err.message).toContain('shanghai_date() takes 1 argument(s) (timestamp), got 2');
  });

  it.each([
    [
      'a body using what is not a parameter',
      macro('m(a)', 'select {{ a }}, {{ b }}'),
      '{{ b }} is not a parameter of m',
    ],
    ['a parameter never used', macro('m(a, b)', 'select {{ a }}'), 'parameter "b" is never used'],
    ['a call of another macro', macro('m(a)', "select {{ a }}, {{ shanghai_date('x') }}"), 'only {{ parameter }}'],
    ['a parameter named twice', macro('m(a, a)', 'select {{ a }}'), 'parameter "a" appears twice'],
    ['a built-in name', macro('source(a)', 'select {{ a }}'), '"source" is a built-in expression'],
    ['no signature', '-- description: x\nselect 1\n', 'missing or malformed'],
    ['no description', '-- macro: m()\nselect 1\n', 'description'],
    ['no SQL', macro('m()', ''), 'no SQL after its header'],
  ])('refuses a macro file with %s, naming the file', async (_what, text, message) => {
    const name = /-- macro: ([a-z_]+)/.exec(text)?.[1] ?? 'm';
    const err = await definitionError({
      [`macros/${name}.sql`]: text,
      'intermediate/int_x.sql': model('int_x', 'select 1'),
    });
    expect(err.file).toMatch(new RegExp(`macros/${name}\\.sql$`));
    expect(err.message).toContain(message);
  });

  it('refuses a macro whose name differs from its file name', async () => {
    const err = await definitionError({
      'macros/other.sql': macro('m()', 'select 1'),
      'intermediate/int_x.sql': model('int_x', 'select 1'),
    });
    expect(err.message).toContain('"m" differs from the file name "other.sql"');
  });

  it('does not take the macros folder for models', async () => {
    const project = await loadProject(
      await sqlDirWith({
        'macros/m.sql': macro('m()', 'select 1'),
        'intermediate/int_x.sql': model('int_x', 'select {{ m() }} as x'),
      }),
    );
    expect(project.models.map((m) => m.name)).toEqual(['int_x']);
  });
});
