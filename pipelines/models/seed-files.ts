/**
 * Reference data that lives with the models (`<sql>/seeds/*.json`: the indicator catalog, the event classes), so a
 * locality's own models folder carries its own. Each file is a JSON array validated with its zod schema.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelDefinitionError } from './errors.js';

/**
 * The entries of a seed file; empty when the folder has none. Throws ModelDefinitionError naming the entry and key,
 * or the entry whose `code` repeats an earlier one.
 */
export async function loadSeedFile<T extends z.ZodType<{ code: string }>>(
  file: string,
  what: string,
  schema: T,
): Promise<z.infer<T>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ModelDefinitionError(file, what, `cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelDefinitionError(file, what, `is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = z.array(schema).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new ModelDefinitionError(file, `${what}${at}`, issue.message);
  }
  const seen = new Set<string>();
  parsed.data.forEach((entry, i) => {
    if (seen.has(entry.code))
      throw new ModelDefinitionError(file, `${what}[${i}].code`, `"${entry.code}" is listed twice`);
    seen.add(entry.code);
  });
  return parsed.data;
}

/** A GB/T 30428.2 event class with its names: `seed_event_classes`, joined into the marts for readable reasons. */
export const eventClassFields = z
  .object({
    code: z.string().regex(/^\d{4}$/, 'a 4-digit event class (2-digit 大类 + 2-digit 小类)'),
    name_zh: z.string().min(1),
    name_en: z.string().min(1),
    major_code: z.string().regex(/^\d{2}$/, 'the 2-digit 大类'),
    major_name_zh: z.string().min(1),
  })
  .strict();
export const eventClassEntry = eventClassFields.refine((e) => e.code.startsWith(e.major_code), {
  message: 'code must start with major_code',
});

export type EventClassEntry = z.infer<typeof eventClassEntry>;

export function loadEventClasses(sqlDir: string): Promise<EventClassEntry[]> {
  return loadSeedFile(join(sqlDir, 'seeds', 'event_classes.json'), 'event_classes', eventClassEntry);
}
