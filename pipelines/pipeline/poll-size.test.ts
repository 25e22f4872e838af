import { describe, expect, it } from 'vitest';
import { MAX_MESSAGES, MIN_MESSAGES, PollSize, STRETCH_MS } from './poll-size.js';

describe('poll size: as many messages as the lander adds in a short stretch of the event loop', () => {
  it('starts at the minimum, grows for messages added fast (the bulk path) and stays small for slow ones', () => {
    const fast = new PollSize();
    expect(fast.messages).toBe(MIN_MESSAGES);
    // 2 µs a message: 20,000 would fit the stretch; capped.
    fast.took(2_000 * 0.002, 2_000);
    expect(fast.messages).toBe(MAX_MESSAGES);
    const slow = new PollSize();
    // 20 µs a message (normalized one by one): 2,000 fit.
    slow.took(2_000 * 0.02, 2_000);
    expect(slow.messages).toBe(Math.floor(STRETCH_MS / 0.02));
    // 1 ms a message (a departmental delivery of many rows): never below the minimum (pollRoom bounds rows).
    slow.took(2_000, 2_000);
    expect(slow.messages).toBe(MIN_MESSAGES);
  });

  it('follows a change of pace over a few polls, and ignores polls too small to say', () => {
    const size = new PollSize();
    size.took(10_000 * 0.002, 10_000);
    expect(size.messages).toBe(MAX_MESSAGES);
    // A handful of slow messages says nothing.
    size.took(50, 10);
    expect(size.messages).toBe(MAX_MESSAGES);
    // The feed turns slow (20 µs a message): one poll moves the size only part of the way, a few bring it there.
    size.took(10_000 * 0.02, 10_000);
    const after = size.messages;
    expect(after).toBeLessThan(MAX_MESSAGES);
    expect(after).toBeGreaterThan(Math.floor(STRETCH_MS / 0.02));
    for (let i = 0; i < 20; i++) size.took(2_000 * 0.02, 2_000);
    expect(Math.abs(size.messages - STRETCH_MS / 0.02)).toBeLessThan(10);
  });
});
