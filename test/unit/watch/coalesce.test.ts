import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from '../../../lib/watch/coalesce.js';

describe('Coalescer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const make = (passMs = 0) => {
    const starts: number[] = [];
    const c = new Coalescer(async () => {
      starts.push(Date.now());
      if (passMs) await new Promise((r) => setTimeout(r, passMs));
    }, { quietMs: 100, maxDelayMs: 1000 });
    return { c, starts };
  };

  it('a burst of 100 events is one pass, after the quiet time', async () => {
    const { c, starts } = make();
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) c.trigger();
    await vi.advanceTimersByTimeAsync(99);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([t0 + 100]);
    expect(c.passes).toBe(1);
    expect(c.events).toBe(100);
  });

  it('a steady stream does not postpone the pass beyond maxDelay', async () => {
    const { c, starts } = make();
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) {
      c.trigger();
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(starts[0]).toBe(t0 + 1000);
  });

  it('events during a pass give exactly one more pass', async () => {
    const { c, starts } = make(500);
    c.trigger();
    await vi.advanceTimersByTimeAsync(150); // pass running
    for (let i = 0; i < 50; i++) c.trigger();
    await vi.advanceTimersByTimeAsync(2000);
    expect(starts).toHaveLength(2);
    await c.idle();
  });

  it('runSoon runs at once; close stops scheduling', async () => {
    const { c, starts } = make();
    c.runSoon();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toHaveLength(1);
    await c.close();
    c.trigger();
    await vi.advanceTimersByTimeAsync(2000);
    expect(starts).toHaveLength(1);
  });
});
