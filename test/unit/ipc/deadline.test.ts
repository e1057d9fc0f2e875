import { describe, expect, it } from 'vitest';
import { deadline } from '../../../lib/ipc/deadline.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const engineTimer of [true, false]) {
  describe(engineTimer ? "the engine's timer (Atomics.waitAsync)" : "the runtime's setTimeout", () => {
    it('fires once, not before its time', async () => {
      const t0 = performance.now();
      const fired: number[] = [];
      deadline(60, () => fired.push(performance.now() - t0), { engineTimer });
      await sleep(20);
      expect(fired).toEqual([]);
      await sleep(200);
      expect(fired).toHaveLength(1);
      expect(fired[0]).toBeGreaterThanOrEqual(59);
    });

    it('a deadline of 0 fires too, on a later turn', async () => {
      let fired = 0;
      deadline(0, () => fired++, { engineTimer });
      expect(fired).toBe(0);
      await sleep(30);
      expect(fired).toBe(1);
    });

    it('cancelled: never fires; cancelling again, or after it fired, does nothing', async () => {
      let fired = 0;
      const d = deadline(30, () => fired++, { engineTimer });
      d.cancel();
      d.cancel();
      const e = deadline(10, () => fired++, { engineTimer });
      await sleep(120);
      e.cancel();
      expect(fired).toBe(1);
    });
  });
}
