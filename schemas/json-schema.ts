import { z } from 'zod';

export interface ObjectJsonSchema {
  $schema?: string;
  type: 'object';
  properties: Record<string, { type?: string; [key: string]: unknown }>;
  required?: string[];
  [key: string]: unknown;
}

/**
 * The JSON Schema of a zod object schema, self-contained: zod emits a schema that carries a meta `id` as a `$ref`
 * into `$defs`; this inlines it so the top level holds `properties` and the meta fields (id, version, natural_key…).
 */
export function jsonSchemaOf(schema: z.ZodObject): ObjectJsonSchema {
  const raw = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as ObjectJsonSchema & {
    $ref?: string;
    $defs?: Record<string, ObjectJsonSchema>;
  };
  if (!raw.$ref) return raw;
  const { $ref, $defs, ...rest } = raw;
  const name = $ref.slice($ref.lastIndexOf('/') + 1);
  const others = Object.fromEntries(Object.entries($defs ?? {}).filter(([key]) => key !== name));
  return { ...rest, ...$defs![name]!, ...(Object.keys(others).length > 0 ? { $defs: others } : {}) };
}
