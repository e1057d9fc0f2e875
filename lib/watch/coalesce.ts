// Coalescing of kernel events into reconcile passes. A burst (100 interfaces
// appearing, a link flap that flushes 40 routes) becomes one pass, not 100:
// a pass starts once events have been quiet for `quietMs`, but never later
// than `maxDelayMs` after the first event of the burst (a steady stream must
// not postpone cleanup forever). Events arriving during a pass mark it dirty:
// exactly one more pass follows. At most one pass runs at a time, so the
// backlog is bounded by one, whatever the event rate.

export interface CoalescerOptions {
  quietMs: number;
  maxDelayMs: number;
  now?: () => number;
}

export class Coalescer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private running: Promise<void> | undefined;
  private dirty = false;
  private closed = false;
  /** Events seen and passes run (for the daemon's view and tests). */
  events = 0;
  passes = 0;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly options: CoalescerOptions,
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** One event: schedules (or postpones, within maxDelayMs) a pass. */
  trigger(): void {
    if (this.closed) return;
    this.events++;
    if (this.running) {
      this.dirty = true;
      return;
    }
    const now = this.now();
    if (!this.timer) this.firstAt = now;
    else clearTimeout(this.timer);
    const due = Math.min(now + this.options.quietMs, this.firstAt + this.options.maxDelayMs);
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - now));
  }

  /** Runs a pass as soon as possible (start-up, a periodic tick). */
  runSoon(): void {
    if (this.closed) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), 0);
  }

  private fire(): void {
    this.timer = undefined;
    this.dirty = false;
    this.passes++;
    this.running = this.pass()
      .catch(() => {}) // the pass logs its own failures
      .finally(() => {
        this.running = undefined;
        if (this.dirty && !this.closed) {
          this.dirty = false;
          this.firstAt = this.now();
          this.timer = setTimeout(() => this.fire(), this.options.quietMs);
        }
      });
  }

  /** Resolves when no pass is running or scheduled. */
  async idle(): Promise<void> {
    while (this.running || this.timer) {
      await (this.running ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  /** Stops scheduling; waits for a running pass. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
