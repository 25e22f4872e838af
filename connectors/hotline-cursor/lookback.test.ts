import { describe, expect, it } from 'vitest';
import type { HotlineCursor, SourceOrder } from './cursor.js';
import { CursorTracker } from './cursor.js';
import { earlierKey, earlierText, instantKey } from './instant.js';
import { LookbackWindow } from './lookback.js';

function order(id: string, updated_at: string): SourceOrder {
  return { order_id: id, updated_at, at: instantKey(updated_at, '+08:00')!, value: `{"orderNo":"${id}"}` };
}
const cursorOf = (o: SourceOrder): HotlineCursor => ({ updated_at: o.updated_at, order_id: o.order_id, at: o.at });

describe('the lookback window', () => {
  it('asks the source from lookback_ms earlier, written as the source writes its times', () => {
    expect(earlierText('2026-08-13 10:00:00', 60_000)).toBe('2026-08-13 09:59:00');
    expect(earlierText('2026-08-13 02:30:00.000001+00', 60_000)).toBe('2026-08-13 02:29:00.000001+00');
    expect(earlierText('2026-08-13T00:00:30+08:00', 60_000)).toBe('2026-08-12T23:59:30+08:00');
    expect(earlierText('2026-08-13T00:00:00.5Z', 750)).toBe('2026-08-12T23:59:59.7Z'); // rounded down: earlier
    expect(earlierText('1786600000000', 60_000)).toBe('1786599940000');
    expect(earlierText('yesterday', 60_000)).toBeUndefined();
    expect(earlierKey('2026-08-13T02:00:00.000001Z', 60_000)).toBe('2026-08-13T01:59:00.000001Z');
  });

  it('sends an order the window has not sent, skips those it has, and leaves orders before it to the cursor rules', () => {
    const window = new LookbackWindow(60_000, false);
    const tracker = new CursorTracker(false);
    const first = [order('A1', '2026-08-13 10:00:00'), order('A2', '2026-08-13 10:00:30')];
    window.restore(undefined, undefined);
    let taken = tracker.take(undefined, first, window);
    window.remember(taken.send, taken.cursor);
    const cursor = taken.cursor!;
    expect(window.start(cursor)).toMatchObject({ updated_at: '2026-08-13 09:59:30', order_id: '' });

    const late = order('A3', '2026-08-13 10:00:10');
    taken = tracker.take(cursor, [first[0]!, late, first[1]!], window);
    expect(taken.send).toEqual([late]);
    expect(taken.late).toEqual([late]);
    expect(taken.last).toEqual(cursorOf(first[1]!));
    window.remember(taken.send, cursor);
    expect(tracker.take(cursor, [first[0]!, late, first[1]!], window).send).toEqual([]);
    // Restored from the checkpoint state: the same.
    const again = new LookbackWindow(60_000, false);
    again.restore(cursor, JSON.parse(JSON.stringify(window.state())));
    expect(new CursorTracker(false).take(cursor, [first[0]!, late, first[1]!], again).send).toEqual([]);
  });

  it('a fresh window starts at the cursor (start_at, or lookback newly configured): nothing before it counts as late', () => {
    const start: HotlineCursor = {
      updated_at: '2026-08-13 10:00:00',
      order_id: '',
      at: instantKey('2026-08-13 10:00:00', '+08:00')!,
    };
    const window = new LookbackWindow(60_000, false);
    window.restore(start, undefined);
    expect(window.start(start)).toEqual(start);
    // A smaller lookback before: only what it covered is trusted.
    const wider = new LookbackWindow(120_000, false);
    wider.restore(start, { lookback_ms: 60_000, sent: [] });
    expect(wider.start(start)).toMatchObject({ updated_at: '2026-08-13 09:59:00' });
  });

  it('remembers at most its memory: past it, the window starts after the newest order it forgot', () => {
    const window = new LookbackWindow(3_600_000, false, 3);
    window.restore(undefined, undefined);
    const orders = [1, 2, 3, 4, 5].map((i) => order(`B${i}`, `2026-08-13 10:00:0${i}`));
    const cursor = cursorOf(orders[4]!);
    window.remember(orders, cursor);
    expect(window.forgotten).toBe(2);
    expect(window.state().sent.map(([id]) => id)).toEqual(['B3', 'B4', 'B5']);
    expect(window.start(cursor)).toEqual(cursorOf(orders[1]!));
    // An order at or before the forgotten B2 is outside the window now: not taken as late.
    const taken = new CursorTracker(false).take(cursor, [orders[1]!], window);
    expect(taken.late).toEqual([]);
  });
});
