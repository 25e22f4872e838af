import type { SourceOrder } from './cursor.js';
import { instantKey } from './instant.js';
import type { UnusableOrder } from './poller.js';

/** The value at a dot path (`a.b.c`); the object itself for "". */
export function atPath(value: unknown, path: string): unknown {
  if (path === '') return value;
  let at = value;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export interface CursorFields {
  order_id: string;
  updated_at: string;
  /** Zone of an update time written without one. */
  utc_offset: string;
}

/**
 * Reads the cursor fields of each order object; the body is the order as JSON. An order without a usable id or update
 * time cannot be placed on the cursor: it becomes an unusable order (a connector dead letter), not a stuck poll.
 */
export function ordersOf(
  records: readonly unknown[],
  fields: CursorFields,
  where: string,
): { orders: SourceOrder[]; unusable: UnusableOrder[] } {
  const orders: SourceOrder[] = [];
  const unusable: UnusableOrder[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const value = JSON.stringify(record);
    const id = atPath(record, fields.order_id);
    const updated = atPath(record, fields.updated_at);
    const at = instantKey(updated, fields.utc_offset);
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '' || at === undefined) {
      unusable.push({
        value,
        reason: 'no_cursor_fields',
        why: `order ${i} of ${where} has no usable ${fields.order_id} (id) or ${fields.updated_at} (update time): ${JSON.stringify(id) ?? 'missing'} / ${JSON.stringify(updated) ?? 'missing'}`,
        source_ref: `${where}#${i}`,
      });
      continue;
    }
    orders.push({ order_id: String(id), updated_at: String(updated), at, value });
  }
  return { orders, unusable };
}
